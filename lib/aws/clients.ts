/**
 * AWS SDK v3 clients, created once per (client type, account, Region) and reused for the life of
 * the process (a Lambda cold start or a CLI run). Callers pass the client class they need, so a
 * function's bundle holds only the clients its code uses.
 *
 * Endpoints: the SDK itself honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>; an explicit
 * `endpoint` (the CLI's --endpoint-url) wins over both. Retries use the SDK's adaptive mode, which
 * adds client-side rate limiting when AWS throttles. Every request has a deadline (connection 3 s,
 * answer 10 s by default, throwOnRequestTimeout): a hanging endpoint is a TimeoutError the retry
 * logic sees, never an invocation that waits until Lambda kills it.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface ClientSettings {
  /** Explicit endpoint for every service (e.g. a local emulator). */
  endpoint?: string;
  /** Named profile from the shared AWS config files. */
  profile?: string;
  /** Credentials to use instead of the default provider chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK attempts per call, first included (default 5). */
  maxAttempts?: number;
  /** Longest wait for an answer to one request, ms (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest wait for a connection, ms (default 3 s). */
  connectionTimeoutMs?: number;
  /** Where the SDK's own warnings go (the CLI keeps them to one line); default: the SDK's console.warn. */
  logger?: SdkLogger;
}

/** The SDK's logger interface (debug and info are per-request chatter; warn and error matter). */
export interface SdkLogger {
  debug: (...content: unknown[]) => void;
  info: (...content: unknown[]) => void;
  warn: (...content: unknown[]) => void;
  error: (...content: unknown[]) => void;
}

/** The subset of SDK client config pitr-guard sets. Every v3 client accepts it. */
export interface BaseClientConfig {
  region: string;
  retryMode: 'adaptive';
  maxAttempts: number;
  endpoint?: string;
  profile?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  requestHandler: { requestTimeout: number; connectionTimeout: number; throwOnRequestTimeout: true };
  logger?: SdkLogger;
}

export type ClientClass<C> = new (config: BaseClientConfig) => C;

export const SELF_ACCOUNT = 'self';

export class Clients {
  private readonly cache = new Map<ClientClass<unknown>, Map<string, unknown>>();
  private readonly accountCredentials = new Map<string, AwsCredentialIdentityProvider>();

  constructor(readonly settings: ClientSettings = {}) {}

  /**
   * The credentials every client of `account` uses (e.g. one member-role session, shared by all
   * its Regions and services). Clients of an account without an entry use the settings' (own)
   * credentials. Set it before the account's first client is created.
   */
  setAccountCredentials(account: string, provider: AwsCredentialIdentityProvider): void {
    this.accountCredentials.set(account, provider);
  }

  /** The one client of this class for (account, region); created on first use. */
  get<C>(Class: ClientClass<C>, region: string, account: string = SELF_ACCOUNT): C {
    let byKey = this.cache.get(Class as ClientClass<unknown>);
    if (!byKey) {
      byKey = new Map();
      this.cache.set(Class as ClientClass<unknown>, byKey);
    }
    const key = `${account}/${region}`;
    let client = byKey.get(key) as C | undefined;
    if (!client) {
      client = new Class(this.config(region, account));
      byKey.set(key, client);
    }
    return client;
  }

  config(region: string, account: string = SELF_ACCOUNT): BaseClientConfig {
    const config: BaseClientConfig = {
      region,
      retryMode: 'adaptive',
      maxAttempts: this.settings.maxAttempts ?? 5,
      requestHandler: { requestTimeout: this.settings.requestTimeoutMs ?? 10_000, connectionTimeout: this.settings.connectionTimeoutMs ?? 3_000, throwOnRequestTimeout: true },
    };
    if (this.settings.endpoint) config.endpoint = this.settings.endpoint;
    if (this.settings.profile) config.profile = this.settings.profile;
    const own = this.accountCredentials.get(account);
    if (own) config.credentials = own;
    else if (this.settings.credentials) config.credentials = this.settings.credentials;
    if (this.settings.logger) config.logger = this.settings.logger;
    return config;
  }
}
