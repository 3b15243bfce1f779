/**
 * Reads the environment the stack sets on a step function (names in core/steps STEP_ENV), with
 * an error that says which variable is missing, for the lazily wired AWS handlers.
 */
import { STEP_ENV } from '../../core/steps';

export function requireStepEnv(resource: keyof typeof STEP_ENV): string {
  const name = STEP_ENV[resource];
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is not set: the stack sets it to the ${resource}'s name`);
  }
  return value;
}

/** Optional setting (e.g. SCHEMAS_DIR): undefined when unset. */
export function optionalStepEnv(resource: keyof typeof STEP_ENV): string | undefined {
  const value = process.env[STEP_ENV[resource]];
  return value === undefined || value === '' ? undefined : value;
}
