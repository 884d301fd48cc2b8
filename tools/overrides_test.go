package tools_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

type ovIn struct {
	Text string `json:"text" validate:"required"`
}

func ovCatalog() []tools.Tool {
	mk := func(name, title, desc string) tools.Tool {
		return tools.New(tools.Def[ovIn, map[string]any]{
			Name: name, Title: title, Description: desc, Toolset: "messages",
			Handler: func(context.Context, *ovIn) (map[string]any, error) { return map[string]any{}, nil },
		})
	}
	return []tools.Tool{
		mk("WHATSAPP_SEND_MESSAGE", "Send a text message", "Send a text to +<digits>."),
		mk("WHATSAPP_GET_MEDIA", "Get media", "Get a media URL & metadata."),
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "descriptions.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadOverrides(t *testing.T) {
	const file = `{"WHATSAPP_SEND_MESSAGE":{"title":"File title","description":"File description"},"whatsapp_get_media":{"description":"Media from file"}}`
	tests := []struct {
		name    string
		file    string // "" = no file
		env     []string
		want    map[string]tools.Override
		wantErr string
	}{
		{name: "nothing", want: map[string]tools.Override{}},
		{
			name: "file only",
			file: file,
			want: map[string]tools.Override{
				"WHATSAPP_SEND_MESSAGE": {Title: "File title", Description: "File description"},
				"WHATSAPP_GET_MEDIA":    {Description: "Media from file"},
			},
		},
		{
			name: "env only, unrelated variables ignored",
			env: []string{
				"PATH=/bin",
				"WHATSAPP_TOOLSETS=messages",
				"WHATSAPP_MCP_TOOL_WHATSAPP_SEND_MESSAGE_DESCRIPTION=Env description with = sign",
				"WHATSAPP_MCP_TOOL_WHATSAPP_GET_MEDIA_TITLE=Env title",
			},
			want: map[string]tools.Override{
				"WHATSAPP_SEND_MESSAGE": {Description: "Env description with = sign"},
				"WHATSAPP_GET_MEDIA":    {Title: "Env title"},
			},
		},
		{
			name: "env wins over file field by field",
			file: file,
			env:  []string{"WHATSAPP_MCP_TOOL_WHATSAPP_SEND_MESSAGE_DESCRIPTION=Env wins"},
			want: map[string]tools.Override{
				"WHATSAPP_SEND_MESSAGE": {Title: "File title", Description: "Env wins"},
				"WHATSAPP_GET_MEDIA":    {Description: "Media from file"},
			},
		},
		{
			name: "empty env variable ignored",
			file: file,
			env:  []string{"WHATSAPP_MCP_TOOL_WHATSAPP_SEND_MESSAGE_TITLE="},
			want: map[string]tools.Override{
				"WHATSAPP_SEND_MESSAGE": {Title: "File title", Description: "File description"},
				"WHATSAPP_GET_MEDIA":    {Description: "Media from file"},
			},
		},
		{
			name:    "env with wrong suffix",
			env:     []string{"WHATSAPP_MCP_TOOL_WHATSAPP_SEND_MESSAGE_DESC=x"},
			wantErr: "WHATSAPP_MCP_TOOL_WHATSAPP_SEND_MESSAGE_DESC: must end in _TITLE or _DESCRIPTION",
		},
		{
			name:    "env without tool name",
			env:     []string{"WHATSAPP_MCP_TOOL__TITLE=x"},
			wantErr: "names no tool",
		},
		{
			name:    "file not an object",
			file:    `["WHATSAPP_SEND_MESSAGE"]`,
			wantErr: "must be a JSON object",
		},
		{
			name:    "file entry with unknown key",
			file:    `{"WHATSAPP_SEND_MESSAGE":{"titel":"typo"}}`,
			wantErr: `WHATSAPP_SEND_MESSAGE: must be an object with only title and description`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			got, err := tools.LoadOverrides(path, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestLoadOverridesMissingFile(t *testing.T) {
	_, err := tools.LoadOverrides(filepath.Join(t.TempDir(), "nope.json"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Fatalf("err = %v, want it to name the file", err)
	}
}

func TestApplyOverrides(t *testing.T) {
	tests := []struct {
		name      string
		o         map[string]tools.Override
		wantTitle map[string]string
		wantDesc  map[string]string
		wantErr   []string
	}{
		{
			name:      "none",
			wantTitle: map[string]string{"WHATSAPP_SEND_MESSAGE": "Send a text message", "WHATSAPP_GET_MEDIA": "Get media"},
			wantDesc:  map[string]string{"WHATSAPP_SEND_MESSAGE": "Send a text to +<digits>.", "WHATSAPP_GET_MEDIA": "Get a media URL & metadata."},
		},
		{
			name:      "description only keeps the title",
			o:         map[string]tools.Override{"WHATSAPP_SEND_MESSAGE": {Description: "  New words.  "}},
			wantTitle: map[string]string{"WHATSAPP_SEND_MESSAGE": "Send a text message", "WHATSAPP_GET_MEDIA": "Get media"},
			wantDesc:  map[string]string{"WHATSAPP_SEND_MESSAGE": "New words.", "WHATSAPP_GET_MEDIA": "Get a media URL & metadata."},
		},
		{
			name:      "both, case-insensitive name",
			o:         map[string]tools.Override{"whatsapp_get_media": {Title: "T", Description: "D"}},
			wantTitle: map[string]string{"WHATSAPP_SEND_MESSAGE": "Send a text message", "WHATSAPP_GET_MEDIA": "T"},
			wantDesc:  map[string]string{"WHATSAPP_SEND_MESSAGE": "Send a text to +<digits>.", "WHATSAPP_GET_MEDIA": "D"},
		},
		{
			name:    "unknown name lists the valid ones",
			o:       map[string]tools.Override{"WHATSAPP_SEND_MESAGE": {Title: "typo"}},
			wantErr: []string{`unknown tool "WHATSAPP_SEND_MESAGE"`, "valid: WHATSAPP_GET_MEDIA, WHATSAPP_SEND_MESSAGE"},
		},
		{
			name:    "blank text",
			o:       map[string]tools.Override{"WHATSAPP_SEND_MESSAGE": {Description: "   "}},
			wantErr: []string{"blank override for WHATSAPP_SEND_MESSAGE description"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			catalog := ovCatalog()
			got, err := tools.ApplyOverrides(catalog, tt.o)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range got {
				if tool.Title != tt.wantTitle[tool.Name] || tool.Description != tt.wantDesc[tool.Name] {
					t.Errorf("%s: got %q / %q, want %q / %q", tool.Name, tool.Title, tool.Description, tt.wantTitle[tool.Name], tt.wantDesc[tool.Name])
				}
			}
			// The input catalog is untouched and the copy still works.
			if catalog[0].Description != "Send a text to +<digits>." {
				t.Errorf("ApplyOverrides changed its input: %q", catalog[0].Description)
			}
			if res := got[0].Call(context.Background(), json.RawMessage(`{"text":"x"}`)); !res.Successful {
				t.Errorf("overridden tool call failed: %s", res.Error)
			}
		})
	}
}

func TestExportDescriptionsRoundTrip(t *testing.T) {
	catalog := ovCatalog()
	b := tools.ExportDescriptions(catalog)
	want := `{
  "WHATSAPP_SEND_MESSAGE": {
    "title": "Send a text message",
    "description": "Send a text to +<digits>."
  },
  "WHATSAPP_GET_MEDIA": {
    "title": "Get media",
    "description": "Get a media URL & metadata."
  }
}
`
	if string(b) != want {
		t.Fatalf("export:\n%s\nwant:\n%s", b, want)
	}
	o, err := tools.LoadOverrides(writeFile(t, string(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tools.ApplyOverrides(catalog, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].Title != catalog[i].Title || got[i].Description != catalog[i].Description {
			t.Errorf("%s changed in the round trip", got[i].Name)
		}
	}
	if string(tools.ExportDescriptions(nil)) != "{}\n" {
		t.Errorf("empty export = %q", tools.ExportDescriptions(nil))
	}
}
