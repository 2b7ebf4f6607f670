// Types of web/events.js for its test (the page itself has no build step and no types).
interface FeedEvent {
  type: string;
  actor: string;
  subject: string;
  data?: Record<string, unknown>;
}
export const NOISY: Set<string>;
export const RENDER: Record<string, (e: FeedEvent) => string>;
export function describe(e: FeedEvent): string;
export function categoryOf(type: string): string;
export function panelsFor(type: string): string[];
