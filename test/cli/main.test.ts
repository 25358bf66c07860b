import { expect } from 'chai';
import { main } from '../../src/cli/main.js';

describe('cli', () => {
  it('rejects an unknown subcommand with the usage exit status', async () => {
    const err = process.stderr.write;
    process.stderr.write = () => true;
    try {
      expect(await main(['no-such-command'])).to.equal(2);
    } finally {
      process.stderr.write = err;
    }
  });
});
