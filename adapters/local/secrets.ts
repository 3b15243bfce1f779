/**
 * Local {@link SecretResolver}: what Secrets Manager holds on AWS, from the environment or a file.
 *
 * 1. `ETL_SECRET_<ID>`: the id upper-cased, every character other than a letter or digit as `_`
 *    (`archive/token` → `ETL_SECRET_ARCHIVE_TOKEN`).
 * 2. `<home>/secrets.json`: `{ "<id>": "value" }` or `{ "<id>": { "<field>": "value" } }`.
 *
 * With a `field`, the value is a JSON object (as a Secrets Manager key/value secret is) and the
 * field is taken from it. Errors name the id and the places looked in, never a value.
 */
import { readFileSync } from 'node:fs';
import { SecretNotFoundError } from '../../core/errors';
import type { SecretRef, SecretResolver } from '../../core/ports';

/** The environment variable a secret id is read from. */
export function secretEnvName(id: string): string {
  return `ETL_SECRET_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export class LocalSecretResolver implements SecretResolver {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    /** `<home>/secrets.json`; it may not exist. */
    private readonly file: string,
  ) {}

  async resolve(ref: SecretRef): Promise<string> {
    const envName = secretEnvName(ref.secret);
    let value: unknown = this.env[envName];
    if (value === undefined) value = this.readFile()[ref.secret];
    if (value === undefined)
      throw new SecretNotFoundError(
        `secret "${ref.secret}" not found: set ${envName} or add "${ref.secret}" to ${this.file}`,
      );
    if (ref.field === undefined) {
      if (typeof value !== 'string')
        throw new SecretNotFoundError(
          `secret "${ref.secret}" is an object: name its "field" in the source definition`,
        );
      return value;
    }
    let object = value;
    if (typeof value === 'string') {
      try {
        object = JSON.parse(value);
      } catch {
        throw new SecretNotFoundError(
          `secret "${ref.secret}" is not a JSON object, so it has no field "${ref.field}"`,
        );
      }
    }
    const field = (object as Record<string, unknown> | null)?.[ref.field];
    if (typeof field !== 'string')
      throw new SecretNotFoundError(`secret "${ref.secret}" has no text field "${ref.field}"`);
    return field;
  }

  private readFile(): Record<string, unknown> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return {};
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new SecretNotFoundError(`${this.file} is not a JSON object of secret ids`);
  }
}
