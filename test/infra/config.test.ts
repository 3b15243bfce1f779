import path from 'node:path';
import { InfraConfigError, PLACEHOLDER_EMAIL, loadConfig } from '../../infra/config';

const FIXTURE_SCHEMAS = path.resolve(__dirname, '../fixtures/infra/schemas');

/** A context lookup over a plain object of `etl:` settings. */
function contextOf(settings: Record<string, unknown>): (key: string) => unknown {
  return (key) => settings[key];
}

function configErrorOf(fn: () => unknown): InfraConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InfraConfigError);
    return e as InfraConfigError;
  }
  throw new Error('expected an InfraConfigError');
}

describe('stack configuration', () => {
  test('an e-mail alone gives the documented defaults and every shipped contract', () => {
    const config = loadConfig({ context: contextOf({ 'etl:notificationEmail': 'oncall@data.test' }) });

    expect(config).toMatchObject({
      namePrefix: 'serverless-etl',
      notificationEmail: 'oncall@data.test',
      logRetentionDays: 30,
      stagingExpirationDays: 7,
      noncurrentVersionExpirationDays: 90,
      glue: { maxWorkers: 10, maxConcurrentRuns: 5 },
      retainData: true,
      warnings: [],
    });
    expect(config.datasets.map((d) => d.dataset)).toContain('registrations');
  });

  test('several datasets share one stack: every contract in the folder is loaded', () => {
    const config = loadConfig({
      context: contextOf({ 'etl:notificationEmail': 'oncall@data.test', 'etl:schemasDir': FIXTURE_SCHEMAS }),
    });

    expect(config.datasets.map((d) => [d.dataset, d.rejectThreshold])).toEqual([
      ['payments', 0.01],
      ['registrations', 0.05],
    ]);
  });

  test('environment variables win over context, and strings are coerced to their types', () => {
    const config = loadConfig({
      context: contextOf({ 'etl:notificationEmail': 'context@data.test', 'etl:logRetentionDays': 14 }),
      env: {
        ETL_NOTIFICATION_EMAIL: 'env@data.test',
        ETL_LOG_RETENTION_DAYS: '90',
        ETL_RETAIN_DATA: 'false',
        ETL_DATASETS: 'registrations',
        ETL_SCHEMAS_DIR: FIXTURE_SCHEMAS,
      },
    });

    expect(config.notificationEmail).toBe('env@data.test');
    expect(config.logRetentionDays).toBe(90);
    expect(config.retainData).toBe(false);
    expect(config.datasets.map((d) => d.dataset)).toEqual(['registrations']);
  });

  test('a missing e-mail names the setting, both ways to set it, and how', () => {
    const err = configErrorOf(() => loadConfig({ context: contextOf({}) }));

    expect(err.message).toContain('"notificationEmail"');
    expect(err.message).toContain('etl:notificationEmail');
    expect(err.message).toContain('ETL_NOTIFICATION_EMAIL');
    expect(err.message).toContain('Fix:');
  });

  test('a malformed e-mail is refused and the message says where it came from', () => {
    const err = configErrorOf(() =>
      loadConfig({ context: contextOf({}), env: { ETL_NOTIFICATION_EMAIL: 'oncall-at-data.test' } }),
    );

    expect(err.message).toContain('environment variable ETL_NOTIFICATION_EMAIL');
    expect(err.message).toContain('email');
  });

  test('a retention CloudWatch Logs does not accept lists the ones it does', () => {
    const err = configErrorOf(() =>
      loadConfig({
        context: contextOf({ 'etl:notificationEmail': 'a@data.test', 'etl:logRetentionDays': 31 }),
      }),
    );

    expect(err.message).toContain('"logRetentionDays" from context etl:logRetentionDays');
    expect(err.message).toMatch(/30, 60/);
  });

  test('a dataset without a contract is named along with the available ones', () => {
    const err = configErrorOf(() =>
      loadConfig({
        context: contextOf({
          'etl:notificationEmail': 'a@data.test',
          'etl:schemasDir': FIXTURE_SCHEMAS,
          'etl:datasets': 'registrations,invoices',
        }),
      }),
    );

    expect(err.message).toContain('"invoices"');
    expect(err.message).toContain('available: payments, registrations');
  });

  test('an unreadable schemas folder is a configuration error, not a crash', () => {
    const err = configErrorOf(() =>
      loadConfig({
        context: contextOf({
          'etl:notificationEmail': 'a@data.test',
          'etl:schemasDir': '/nonexistent/schemas',
        }),
      }),
    );

    expect(err.message).toContain('/nonexistent/schemas');
  });

  test('the cdk.json placeholder address synthesizes but warns before a deploy', () => {
    const config = loadConfig({ context: contextOf({ 'etl:notificationEmail': PLACEHOLDER_EMAIL }) });

    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toContain('-c etl:notificationEmail=');
  });

  test('a Glue worker count below a driver plus one executor is refused', () => {
    const err = configErrorOf(() =>
      loadConfig({ context: contextOf({ 'etl:notificationEmail': 'a@data.test', 'etl:glueMaxWorkers': 1 }) }),
    );

    expect(err.message).toContain('"glueMaxWorkers"');
  });
});
