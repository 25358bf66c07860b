import { expect } from 'chai';
import { main } from '../../src/cli/main.js';

describe('cli', () => {
  it('exits 0 with no work to do', async () => {
    expect(await main([])).to.equal(0);
  });
});
