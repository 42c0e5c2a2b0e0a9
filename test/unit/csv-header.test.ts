import { describe, expect, it } from 'vitest';
import { parseCsvHeader } from '../../activities/ingest/csv-header.js';

describe('a CSV header as written', () => {
  it('keeps a quoted delimiter and a doubled quote inside one name', () => {
    expect(parseCsvHeader('"a,b","c""d",e', ',', '"')).toEqual({ names: ['a,b', 'c"d', 'e'] });
  });

  it('reads tab- and semicolon-separated headers', () => {
    expect(parseCsvHeader('x\ty\tz', '\t', '"')).toEqual({ names: ['x', 'y', 'z'] });
    expect(parseCsvHeader('"x";y', ';', '"')).toEqual({ names: ['x', 'y'] });
  });

  it('reports the column whose quote does not close', () => {
    expect(parseCsvHeader('"a","b', ',', '"')).toEqual({ names: ['a', 'b'], unclosedQuote: 2 });
  });
});
