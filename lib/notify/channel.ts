/** The channel interface every notifier implements (its own module, so channels and `deliver` share it without a cycle). */
import type { Logger } from '../runtime/logger';
import type { Metrics } from '../runtime/metrics';
import type { RenderedAlert } from './format';

export type Channel = 'sns' | 'slack';

/** What a channel may spend on one alert. */
export interface SendOptions {
  /** Milliseconds this channel may still spend (retries and waits included); absent: no limit known. */
  timeLeftMs?: () => number;
  logger?: Logger;
}

export interface Notifier {
  readonly channel: Channel;
  /** Where this channel's failures are counted when `deliver` is given no metrics (buildNotifiers sets it). */
  readonly metrics?: Metrics;
  send(alert: RenderedAlert, options?: SendOptions): Promise<void>;
}

