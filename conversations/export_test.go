package conversations

// Preview is preview, for its test.
var Preview = preview
