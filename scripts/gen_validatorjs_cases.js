// Generates tests/fixtures/syntax_suites/validatorjs_is_email.csv from validator.js's own test
// file: the `isEmail` cases run with default options (the first `should validate email
// addresses` block of test/validators.test.js), each with validator.js's verdict and the
// verdict listwash's bulk-mail profile gives, with the reason where they differ (OVERRIDES).
//
//   node scripts/gen_validatorjs_cases.js /path/to/validators.test.js \
//       > tests/fixtures/syntax_suites/validatorjs_is_email.csv
'use strict';
const fs = require('fs');

// Where listwash deliberately differs from validator.js's default isEmail.
const OVERRIDES = {
  '"foobar"@example.com': 'quoted local part (bulk-mail profile)',
  '"  foo  m端ller "@example.com': 'quoted local part (bulk-mail profile)',
  '"foo\\@bar"@example.com': 'quoted local part (bulk-mail profile)',
};

const text = fs.readFileSync(process.argv[2], 'utf8');
const start = text.indexOf("it('should validate email addresses', () => {");
const open = text.indexOf('test({', start) + 'test('.length;
const close = text.indexOf('});', open) + 1;
// The block is a JavaScript object literal (template strings such as `${'a'.repeat(64)}`).
const block = eval(`(${text.slice(open, close)})`);
const quote = (s) => `"${String(s).replace(/"/g, '""')}"`;
const rows = [['id', 'address_json', 'validator_js', 'listwash', 'note']];
let n = 0;
for (const [verdict, list] of [['valid', block.valid], ['invalid', block.invalid]]) {
  for (const address of list) {
    n += 1;
    const note = OVERRIDES[address] || '';
    const ours = note ? (verdict === 'valid' ? 'invalid' : 'valid') : verdict;
    // JSON with every non-ASCII character escaped, so that invisible spaces stay visible.
    const json = JSON.stringify(address).replace(/[\u007f-\uffff]/g,
      (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
    rows.push([`vjs-${n}`, json, verdict, ours, note]);
  }
}
process.stdout.write(rows.map((r) => r.map(quote).join(',')).join('\n') + '\n');
