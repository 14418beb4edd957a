// Dawn's "artificially reduced" start-up warnings are dropped from the CLI's stderr; everything
// else, including progress lines that end in \r, passes at once and unchanged.
import { expect, test } from 'vitest';
import { dawnWarningFilter } from '../../src/cli/quiet_driver_node.js';

const W1 = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';
const W2 = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';

test('drops exactly the two Dawn lines, also when split across chunks', () => {
  let out = '';
  const f = dawnWarningFilter((s) => { out += s; });
  f(W1.slice(0, 30));
  f(W1.slice(30) + W2.slice(0, 5));
  f(W2.slice(5) + 'tether inpaint: model on adapter\n');
  f('Warning: something else\n');
  expect(out).toBe('tether inpaint: model on adapter\nWarning: something else\n');
});

test('progress without a newline is passed on immediately', () => {
  let out = '';
  const f = dawnWarningFilter((s) => { out += s; });
  f('\r  inpaint: step 1/10');
  expect(out).toBe('\r  inpaint: step 1/10');
  f('\r  inpaint: step 2/10');
  expect(out).toBe('\r  inpaint: step 1/10\r  inpaint: step 2/10');
});
