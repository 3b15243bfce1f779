/**
 * The validate limit in the stack (issue 13): the measured default reaches the validate Lambda as
 * VALIDATE_MAX_FILE_BYTES, the timeout it was derived from is the one the stack deploys, and the
 * limit is configurable by context, environment and the EtlPipeline prop, with a clear error.
 */
import { App, Stack } from 'aws-cdk-lib';
import { DEFAULT_VALIDATE_MAX_FILE_BYTES, VALIDATE_LAMBDA_TIMEOUT_SECONDS } from '../../core/file-size-limit';
import { loadConfig } from '../../infra/config';
import { stepTimeouts } from '../../infra/etl-pipeline';
import { resolvePipelineConfig } from '../../infra/etl-pipeline-props';
import { REPO_ROOT, synthPipeline, type Synthesized } from './synth';

const fnProps = (s: Synthesized, step: string) =>
  s.template.toJSON().Resources[s.stack.getLogicalId(s.stack.steps.get(step).fn.node.defaultChild as never)]
    .Properties;

describe('the validate limit', () => {
  test('the stack deploys the measured default on the validate function, whose timeout is the one the default assumes', () => {
    const synth = synthPipeline();
    const validate = fnProps(synth, 'validate');
    expect(validate.Environment.Variables.VALIDATE_MAX_FILE_BYTES).toBe(
      String(DEFAULT_VALIDATE_MAX_FILE_BYTES),
    );
    expect(validate.Timeout).toBe(VALIDATE_LAMBDA_TIMEOUT_SECONDS);
    expect(stepTimeouts().get('validate')!.toSeconds()).toBe(VALIDATE_LAMBDA_TIMEOUT_SECONDS);
    // Only validate decides it.
    expect(fnProps(synth, 'transform').Environment.Variables.VALIDATE_MAX_FILE_BYTES).toBeUndefined();

    const custom = synthPipeline({ settings: { validateMaxFileBytes: 5_000_000_000 } });
    expect(fnProps(custom, 'validate').Environment.Variables.VALIDATE_MAX_FILE_BYTES).toBe('5000000000');
  });

  test('the validate function has /tmp room for the DuckDB fast path: 4096 MiB by default, configurable', () => {
    expect(fnProps(synthPipeline(), 'validate').EphemeralStorage).toEqual({ Size: 4096 });
    const custom = synthPipeline({ settings: { validateEphemeralStorageMiB: 10240 } });
    expect(fnProps(custom, 'validate').EphemeralStorage).toEqual({ Size: 10240 });
    const context = (key: string) =>
      ({ 'etl:notificationEmail': 'oncall@data.test', 'etl:validateEphemeralStorageMiB': 100 })[key];
    expect(() => loadConfig({ context })).toThrow(/validateEphemeralStorageMiB/);
  });

  test('context, environment (wins) and the EtlPipeline prop set it; a wrong value names the setting and the fix', () => {
    const context = (settings: Record<string, unknown>) => (key: string) =>
      ({ 'etl:notificationEmail': 'oncall@data.test', ...settings })[key];
    expect(loadConfig({ context: context({}) }).validateLambda.maxFileBytes).toBe(
      DEFAULT_VALIDATE_MAX_FILE_BYTES,
    );
    expect(
      loadConfig({ context: context({ 'etl:validateMaxFileBytes': 1234 }) }).validateLambda.maxFileBytes,
    ).toBe(1234);
    expect(
      loadConfig({
        context: context({ 'etl:validateMaxFileBytes': 1234 }),
        env: { ETL_VALIDATE_MAX_FILE_BYTES: '4321' },
      }).validateLambda.maxFileBytes,
    ).toBe(4321);
    expect(() => loadConfig({ context: context({ 'etl:validateMaxFileBytes': 0 }) })).toThrow(
      /validateMaxFileBytes.*Fix: a whole number of bytes ≥ 1/,
    );

    const scope = new Stack(new App(), 'Props');
    const config = resolvePipelineConfig(scope, {
      notificationEmail: 'oncall@data.test',
      contractsDir: `${REPO_ROOT}/schemas`,
      validateMaxFileBytes: 777_000_000,
    });
    expect(config.validateLambda.maxFileBytes).toBe(777_000_000);
  });
});
