package actions

import (
	"context"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// splitFields turns "a, b,c" into [a b c], or def when empty.
func splitFields(s, def string) []string {
	if strings.TrimSpace(s) == "" {
		s = def
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// PhoneNumberIDInput names a business phone number, with optional fields.
type PhoneNumberIDInput struct {
	PhoneNumberID string `json:"phone_number_id" validate:"required,graphid"`
	Fields        string `json:"fields,omitempty" validate:"omitempty,fieldlist"`
}

const profileFields = "about,address,description,email,profile_picture_url,websites,vertical,messaging_product"

// Check limits fields to what the business profile has, so a typo is caught
// here instead of as Meta error 100.
func (in *BusinessProfileInput) Check() []tools.FieldError {
	for _, f := range splitFields(in.Fields, profileFields) {
		if !contains(strings.Split(profileFields, ","), f) {
			return []tools.FieldError{{Field: "fields", Rule: "may only name " + strings.ReplaceAll(profileFields, ",", ", ") + " (got " + f + ")"}}
		}
	}
	return nil
}

// BusinessProfileInput is the input of WHATSAPP_GET_BUSINESS_PROFILE.
type BusinessProfileInput struct {
	PhoneNumberIDInput
}

// BusinessProfile is data of WHATSAPP_GET_BUSINESS_PROFILE.
type BusinessProfile struct {
	About             string   `json:"about,omitempty"`
	Address           string   `json:"address,omitempty"`
	Description       string   `json:"description,omitempty"`
	Email             string   `json:"email,omitempty"`
	ProfilePictureURL string   `json:"profile_picture_url,omitempty"`
	Websites          []string `json:"websites,omitempty"`
	Vertical          string   `json:"vertical,omitempty" jsonschema_description:"Industry, e.g. RETAIL"`
}

func getBusinessProfile(d *Deps) tools.Tool {
	return tools.New(tools.Def[BusinessProfileInput, graph.Object]{
		Name:        "WHATSAPP_GET_BUSINESS_PROFILE",
		Title:       "Get the business profile",
		Toolset:     ToolsetAccount,
		Hints:       phoneHints,
		Description: "Read the business profile customers see for a business number: about, address, websites, email, industry (vertical), picture.",
		Annotations: readOnly,
		Example:     `{"phone_number_id":"106540352242922","fields":"about,websites"}`,
		Data:        BusinessProfile{},
		Handler: func(ctx context.Context, in *BusinessProfileInput) (graph.Object, error) {
			obj, _, err := d.Graph.GetBusinessProfile(ctx, in.PhoneNumberID, splitFields(in.Fields, profileFields))
			return obj, err
		},
	})
}

// PhoneNumber is data of WHATSAPP_GET_PHONE_NUMBER (and items of the list).
type PhoneNumber struct {
	ID                     string `json:"id,omitempty" jsonschema_description:"The phone_number_id the other tools take"`
	DisplayPhoneNumber     string `json:"display_phone_number,omitempty"`
	VerifiedName           string `json:"verified_name,omitempty"`
	QualityRating          string `json:"quality_rating,omitempty" jsonschema_description:"GREEN, YELLOW, RED or UNKNOWN"`
	CodeVerificationStatus string `json:"code_verification_status,omitempty"`
	PlatformType           string `json:"platform_type,omitempty"`
}

const phoneFields = "id,display_phone_number,verified_name,quality_rating,code_verification_status,platform_type,throughput,status,name_status"

func getPhoneNumber(d *Deps) tools.Tool {
	return tools.New(tools.Def[PhoneNumberIDInput, graph.Object]{
		Name:    "WHATSAPP_GET_PHONE_NUMBER",
		Title:   "Get a business phone number",
		Toolset: ToolsetAccount,
		Hints:   phoneHints,
		Description: "Read one business number's details, such as its verified name and throughput. " +
			"Check its health with it: quality_rating RED limits sending.",
		Annotations: readOnly,
		Example:     `{"phone_number_id":"106540352242922"}`,
		Data:        PhoneNumber{},
		Handler: func(ctx context.Context, in *PhoneNumberIDInput) (graph.Object, error) {
			obj, _, err := d.Graph.GetPhoneNumber(ctx, in.PhoneNumberID, splitFields(in.Fields, phoneFields))
			return obj, err
		},
	})
}

// GetPhoneNumbersInput is the input of WHATSAPP_GET_PHONE_NUMBERS.
type GetPhoneNumbersInput struct {
	Limit int    `json:"limit,omitempty" validate:"omitempty,min=1,max=100" jsonschema:"default=25"`
	After string `json:"after,omitempty" validate:"omitempty,max=2000"`
}

// Normalize applies the default page size.
func (in *GetPhoneNumbersInput) Normalize() {
	if in.Limit == 0 {
		in.Limit = 25
	}
}

func getPhoneNumbers(d *Deps) tools.Tool {
	return tools.New(tools.Def[GetPhoneNumbersInput, []graph.Object]{
		Name:    "WHATSAPP_GET_PHONE_NUMBERS",
		Title:   "List business phone numbers",
		Toolset: ToolsetAccount,
		Hints:   []string{hintPhoneNumberID, hintPhoneNumbers, hintPaging},
		Description: "List the business account's phone numbers. " +
			"Start here: sends and most reads need a phone_number_id, the `id` of an item (not the phone number).",
		Annotations: readOnly,
		Example:     `{"limit":25}`,
		Data:        []PhoneNumber{},
		Handler: func(ctx context.Context, in *GetPhoneNumbersInput) ([]graph.Object, error) {
			waba, err := d.waba()
			if err != nil {
				return nil, err
			}
			l, _, err := d.Graph.ListPhoneNumbers(ctx, waba, &graph.ListOptions{Limit: in.Limit, After: in.After})
			if err != nil {
				return nil, err
			}
			tools.SetPaging(ctx, l.Paging)
			return l.Data, nil
		},
	})
}
