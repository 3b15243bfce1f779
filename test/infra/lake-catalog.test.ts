/**
 * The Glue tables LakeCatalog builds from plan v2 (issue 11): a table without a partition, a
 * month-granularity table whose date stays inside the files, a text partition of a hyphenated
 * dataset, and the day-partitioned sample as before.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { findContract, parseContract, type DatasetContract } from '../../core/contract';
import { LakeCatalog } from '../../infra/constructs/lake-catalog';

const CONTRACTS = path.join(__dirname, '..', 'fixtures', 'parity', 'contracts');

function fixtureContract(dataset: string): DatasetContract {
  const file = path.join(CONTRACTS, `${dataset}.schema.json`);
  return parseContract(dataset, readFileSync(file, 'utf8'), file);
}

function catalogOf(datasets: DatasetContract[]): Template {
  const stack = new Stack(new App(), 'CatalogTest');
  const key = new kms.Key(stack, 'Key');
  new LakeCatalog(stack, 'Catalog', {
    namePrefix: 'etl-test',
    datasets,
    lakeBucket: new s3.Bucket(stack, 'Lake'),
    athenaResultsBucket: new s3.Bucket(stack, 'Results'),
    key,
    securityConfigurationName: 'etl-test-glue',
  });
  return Template.fromStack(stack);
}

const template = catalogOf([
  findContract('registrations')!,
  fixtureContract('parity_nokey'),
  fixtureContract('parity_month'),
  fixtureContract('parity-region'),
]);

function tableInput(name: string): Record<string, unknown> {
  const tables = template.findResources('AWS::Glue::Table', {
    Properties: { TableInput: { Name: name } },
  });
  const [table] = Object.values(tables) as { Properties: { TableInput: Record<string, unknown> } }[];
  expect(table).toBeDefined();
  return table!.Properties.TableInput;
}

test('a dataset without a partition gets a table without partition keys over its curated prefix', () => {
  const input = tableInput('parity_nokey');

  expect(input.PartitionKeys).toEqual([]);
  expect(input.StorageDescriptor).toMatchObject({
    Location: expect.anything(),
    Columns: [
      { Name: 'reading_id', Type: 'string' },
      { Name: 'station', Type: 'string' },
      { Name: 'value', Type: 'decimal(10,2)' },
      { Name: 'taken_at', Type: 'timestamp' },
      { Name: 'ok', Type: 'boolean' },
    ],
  });
  expect(JSON.stringify((input.StorageDescriptor as { Location: unknown }).Location)).toContain(
    '/curated/parity_nokey/',
  );
});

test('a month-granularity table has a string key and keeps the date inside the files', () => {
  const input = tableInput('parity_month');

  expect(input.PartitionKeys).toEqual([{ Name: 'order_date_month', Type: 'string' }]);
  expect((input.StorageDescriptor as { Columns: unknown }).Columns).toEqual([
    { Name: 'order_id', Type: 'string' },
    { Name: 'order_date', Type: 'date' },
    { Name: 'amount', Type: 'decimal(12,2)' },
  ]);
});

test('a text partition of a hyphenated dataset: table named by contract.table, located by the dataset', () => {
  const input = tableInput('parity_region');

  expect(input.PartitionKeys).toEqual([{ Name: 'region', Type: 'string' }]);
  expect((input.StorageDescriptor as { Columns: { Name: string }[] }).Columns.map((c) => c.Name)).toEqual([
    'shipment_id',
    'weight_kg',
  ]);
  expect(JSON.stringify((input.StorageDescriptor as { Location: unknown }).Location)).toContain(
    '/curated/parity-region/',
  );
  template.hasResourceProperties('AWS::Glue::Crawler', {
    Targets: { CatalogTargets: [{ Tables: Match.arrayWith(['parity_nokey']) }] },
  });
  template.hasResourceProperties('AWS::Glue::Crawler', {
    Targets: { CatalogTargets: [{ Tables: Match.arrayWith(['parity_region']) }] },
  });
});

test('the sample partitions by month (issue 12): a string key event_date_month, event_date kept inside the files', () => {
  const input = tableInput('registrations');

  expect(input.PartitionKeys).toEqual([{ Name: 'event_date_month', Type: 'string' }]);
  expect(
    (input.StorageDescriptor as { Columns: { Name: string; Type: string }[] }).Columns.find(
      (c) => c.Name === 'event_date',
    ),
  ).toEqual({ Name: 'event_date', Type: 'date' });
});
