/**
 * The words of row errors the checker builds from ajv's errors and from the record itself: each
 * row gets its own line and value, and an enum's options are listed in the contract's order.
 */
import { DEFAULT_SCHEMAS_DIR } from '../../core/contract';
import { TestLake } from './harness';

let lake: TestLake;
beforeEach(() => {
  lake = new TestLake();
});
afterEach(() => lake.dispose());

const HEADER =
  'registration_id,event_id,event_date,attendee_email,ticket_type,quantity,amount,currency,registered_at,notes';
const row = (n: number, ticket: string, currency = 'EUR') =>
  `REG-${String(10000000 + n)},EVT-0001,2024-05-28,a${n}@example.com,${ticket},1,10.00,${currency},2024-02-07T06:42:08Z,ok`;

test('enum errors on several rows and columns, and short and long rows, each with their own words', async () => {
  const csv = [
    HEADER,
    row(1, 'vip'),
    row(2, 'VIP'),
    row(3, 'platinum'),
    row(4, 'general', 'EURO'),
    'REG-10000005,EVT-0001,2024-05-28',
    `${row(6, 'vip')},extra,""`,
    // Enough good rows to stay under the contract's 5% reject limit.
    ...Array.from({ length: 200 }, (_, k) => row(100 + k, 'student')),
    '',
  ].join('\n');
  const result = await lake.validate(await lake.upload('incoming/registrations/messages.csv', csv), {
    schemasDir: DEFAULT_SCHEMAS_DIR,
  });
  expect(result).toMatchObject({ rowsValid: 201, rowsRejected: 5 });
  const errors = await lake.jsonLines<{
    line: number;
    column: string | null;
    value: string;
    message: string;
  }>(result.rejects!.key);
  const tickets =
    'must be one of "general", "vip", "student", "speaker", "sponsor", "volunteer" (contract rule "enum")';
  expect(errors.map((e) => [e.line, e.column, e.value, e.message])).toEqual([
    [3, 'ticket_type', 'VIP', `line 3, column "ticket_type": "VIP" ${tickets}`],
    [4, 'ticket_type', 'platinum', `line 4, column "ticket_type": "platinum" ${tickets}`],
    [
      5,
      'currency',
      'EURO',
      'line 5, column "currency": "EURO" must be one of "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "JPY" (contract rule "enum")',
    ],
    [
      6,
      null,
      'REG-10000005,EVT-0001,2024-05-28',
      'line 6 has 3 fields but the header has 10; add the missing fields (empty ones still need their delimiters)',
    ],
    [
      7,
      null,
      `${row(6, 'vip')},extra,""`,
      'line 7 has 12 fields but the header has 10; quote fields that contain "," or remove the extra fields',
    ],
  ]);
});
