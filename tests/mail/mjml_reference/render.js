// The reference renderer for tests/mail/test_mjml_reference.py: reads a JSON object {name: MJML source}
// on stdin and writes {name: HTML} on stdout, with the options newsletter/mail/rendering.py gives
// mjml-python (no comments, no web fonts).
"use strict";
const mjml2html = require("mjml");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const sources = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const out = {};
  for (const [name, source] of Object.entries(sources)) {
    const result = await mjml2html(source, { keepComments: false, fonts: {}, validationLevel: "soft" });
    out[name] = result.html;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
