import { DATASET_NAME } from '../../core/dataset-name';
import { columnNames, COLUMN_NAME, datasetNameOf } from '../../infer/names';

describe('column names from header text', () => {
  test('messy headers become snake_case SQL names', () => {
    const names = columnNames([
      'Airport Name',
      'Cost Total $',
      'Café',
      'AirportCode',
      'HTTPStatus',
      '2019 Population',
      'Order',
      'Größe (m²)',
      '東京',
      '  spaced  out  ',
    ]);
    expect(names).toEqual([
      'airport_name',
      'cost_total',
      'cafe',
      'airport_code',
      'http_status',
      'col_2019_population',
      'order_',
      'grosse_m2',
      'column_9',
      'spaced_out',
    ]);
    for (const n of names) expect(n).toMatch(COLUMN_NAME);
  });

  test('names that clash are numbered, and stay unique', () => {
    expect(columnNames(['Name', 'name', 'NAME ', ''])).toEqual(['name', 'name_2', 'name_3', 'column_4']);
  });

  test('a very long header is cut to a valid identifier', () => {
    const [name] = columnNames(['x'.repeat(300)]);
    expect(name).toMatch(COLUMN_NAME);
  });
});

describe('dataset name from the file name', () => {
  test('lower-cased, accents dropped, other characters become _', () => {
    expect(datasetNameOf('data/Airport Delays (2024).csv')).toBe('airport_delays_2024');
    expect(datasetNameOf('/x/Café Menu.CSV')).toBe('cafe_menu');
    expect(datasetNameOf('2024 sales.csv')).toBe('data_2024_sales');
    expect(datasetNameOf('東京.csv')).toBeUndefined();
  });

  test('a hyphen is kept only when the dataset-name rule allows it', () => {
    const name = datasetNameOf('seattle-weather.csv')!;
    expect(name).toMatch(DATASET_NAME);
    expect(name).toBe(DATASET_NAME.test('seattle-weather') ? 'seattle-weather' : 'seattle_weather');
  });
});
