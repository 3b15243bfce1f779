/**
 * The {@link SecretResolver} port on AWS Secrets Manager: a source definition's secret request
 * headers (`{"secret": "<name or ARN>", "field"?: "<key>"}`) get their value from GetSecretValue
 * (the current version, `AWSCURRENT`). The same rules as the local resolver (adapters/local/secrets.ts):
 * without `field` the secret must be text; with one it must be a JSON object (a key/value secret)
 * holding that text field. Errors name the secret id and never a value.
 *
 * Values are kept for `cacheMs` (a warm pull Lambda makes one call per secret per window, not one
 * per invocation; a rotated secret is picked up within that window).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretNotFoundError } from '../../core/errors';
import type { SecretRef, SecretResolver } from '../../core/ports';
import { rethrowTransient } from './transient';

export interface SecretsManagerResolverOptions {
  /** How long a fetched value is reused. @default 5 minutes */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/** @example new SecretsManagerResolver(new SecretsManagerClient({})) */
export class SecretsManagerResolver implements SecretResolver {
  private readonly cache = new Map<string, { value: string; until: number }>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient,
    options: SecretsManagerResolverOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  async resolve(ref: SecretRef): Promise<string> {
    const value = await this.secretText(ref.secret);
    if (ref.field === undefined) return value;
    let object: unknown;
    try {
      object = JSON.parse(value);
    } catch {
      throw new SecretNotFoundError(
        `secret "${ref.secret}" is not a JSON object, so it has no field "${ref.field}". Fix: store it as key/value pairs, or drop "field" from the source definition`,
      );
    }
    const field =
      object !== null && typeof object === 'object' && !Array.isArray(object)
        ? (object as Record<string, unknown>)[ref.field]
        : undefined;
    if (typeof field !== 'string')
      throw new SecretNotFoundError(
        `secret "${ref.secret}" has no text field "${ref.field}". Fix: add the key "${ref.field}" to the secret, or correct "field" in the source definition`,
      );
    return field;
  }

  private async secretText(id: string): Promise<string> {
    const cached = this.cache.get(id);
    if (cached && cached.until > this.now()) return cached.value;
    let text: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: id }));
      text = out.SecretString;
      if (text === undefined)
        throw new SecretNotFoundError(
          `secret "${id}" holds binary data, not text. Fix: store the header value as a secret string`,
        );
    } catch (e) {
      if (e instanceof SecretNotFoundError) throw e;
      const name = (e as Error).name;
      if (name === 'ResourceNotFoundException')
        throw new SecretNotFoundError(
          `secret "${id}" not found in Secrets Manager. Fix: create it (aws secretsmanager create-secret --name ${id} --secret-string ...) in the stack's account and region, or correct "secret" in the source definition`,
        );
      if (
        name === 'AccessDeniedException' ||
        name === 'DecryptionFailure' ||
        name === 'InvalidRequestException'
      )
        throw new SecretNotFoundError(
          `secret "${id}" cannot be read (${name}). Fix: the pull Lambda may read only the secrets its source definitions name, at deploy time; redeploy after adding one, and let its role decrypt with the secret's KMS key when that is not aws/secretsmanager`,
        );
      return rethrowTransient(e, `secrets manager: get ${id}`);
    }
    this.cache.set(id, { value: text, until: this.now() + this.cacheMs });
    return text;
  }
}
