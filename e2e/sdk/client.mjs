// An independent MCP client (the official TypeScript SDK) driving the server
// over stdio. Usage: node client.mjs <server-binary> [server args...]
// Exits 1 on the first failed check. The SDK itself validates every
// structuredContent against the tool's outputSchema.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [bin, ...args] = process.argv.slice(2);
if (!bin) {
  console.error("usage: node client.mjs <server-binary> [args...]");
  process.exit(2);
}
const expectTools = Number(process.env.EXPECT_TOOLS || "27");
const phone = process.env.PHONE_NUMBER_ID || "106540352242922";

let passed = 0;
function check(cond, what, detail) {
  if (!cond) {
    console.error(`FAIL ${what}${detail ? ": " + JSON.stringify(detail).slice(0, 2000) : ""}`);
    process.exit(1);
  }
  passed++;
}

const transport = new StdioClientTransport({ command: bin, args, env: process.env, stderr: "pipe" });
let stderr = "";
transport.stderr?.on("data", (d) => { stderr += d; });
const client = new Client({ name: "whatsapp-mcp-e2e", version: "1.0.0" });
try {
  await client.connect(transport);
} catch (e) {
  console.error("connect failed:", e?.message, "\nserver stderr:\n" + stderr);
  process.exit(1);
}

const { tools } = await client.listTools();
check(tools.length === expectTools, `tools/list returns ${expectTools} tools`, tools.map((t) => t.name));
const names = new Set(tools.map((t) => t.name));
check(names.size === tools.length, "tool names are unique");
for (const t of tools) {
  const a = t.annotations || {};
  for (const k of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]) {
    check(typeof a[k] === "boolean", `${t.name} annotation ${k} is set`, a);
  }
  check(t.inputSchema?.type === "object", `${t.name} inputSchema is an object schema`);
  check(t.outputSchema?.type === "object", `${t.name} has an outputSchema`);
  check(typeof t.title === "string" && t.title.length > 0, `${t.name} has a title`);
}

// A read: the SDK validates structuredContent against outputSchema.
const list = await client.callTool({ name: "WHATSAPP_GET_PHONE_NUMBERS", arguments: { limit: 10 } });
check(!list.isError, "WHATSAPP_GET_PHONE_NUMBERS succeeds", list);
check(list.structuredContent?.successful === true && Array.isArray(list.structuredContent.data), "phone numbers data is an array", list.structuredContent);
check(list.structuredContent.data.some((n) => n.id === phone), `phone number ${phone} is listed`, list.structuredContent.data);
check(JSON.parse(list.content[0].text).successful === true, "text content carries the same envelope");

// A send.
const sent = await client.callTool({
  name: "WHATSAPP_SEND_TEMPLATE_MESSAGE",
  arguments: { to_number: "+1 (650) 555-1234", phone_number_id: phone, template_name: "hello_world", language_code: "en_US" },
});
check(!sent.isError, "template send succeeds", sent);
check(/^wamid\./.test(sent.structuredContent?.data?.message_id || ""), "send returns a wamid", sent.structuredContent);
check(sent.structuredContent.data.to === "+16505551234", "to_number normalised to +digits", sent.structuredContent.data);

// Bad input: an isError result naming the field, not a protocol error.
const bad = await client.callTool({
  name: "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
  arguments: { to_number: "12", phone_number_id: phone, body_text: "Pick", buttons: [{ title: "a" }, { title: "b" }, { title: "c" }, { title: "d" }] },
});
check(bad.isError === true, "invalid input is an isError result", bad);
check(/to_number/.test(bad.content[0].text) && /buttons/.test(bad.content[0].text), "error names every offending field", bad.content[0].text);
check(bad.structuredContent?.successful === false, "failure envelope has successful=false", bad.structuredContent);

// The trigger tool answers (events may or may not have arrived yet).
const trig = await client.callTool({ name: "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER", arguments: { phone_number_id: phone, max_results: 5 } });
check(!trig.isError, "trigger tool answers", trig);
check(typeof trig.structuredContent?.data?.next_cursor === "string", "trigger returns next_cursor", trig.structuredContent);

// The conversation as an MCP resource: the template send above is in it
// (every send is recorded), and a subscription is accepted.
const { resourceTemplates } = await client.listResourceTemplates();
check(resourceTemplates.some((r) => r.uriTemplate === "whatsapp://{phone_number_id}/conversations/{wa_id}"),
  "resources/templates/list has the conversation template", resourceTemplates);
const uri = `whatsapp://${phone}/conversations/16505551234`;
await client.subscribeResource({ uri });
passed++;
const res = await client.readResource({ uri });
const conv = JSON.parse(res.contents[0].text);
check(conv.messages?.some((m) => m.message_id === sent.structuredContent.data.message_id && m.direction === "out"),
  "resources/read shows the message sent", conv);

await client.close();
console.log(`sdk-client: ${passed} checks ok`);
