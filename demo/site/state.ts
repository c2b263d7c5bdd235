// The state every handler of one demo site shares.
import type {ResolvedOptions} from './options.js';
import type {SessionStore} from './sessions.js';
import type {DemoStats} from './stats.js';
import type {TokenStore} from './tokens.js';

export interface SiteState {
	readonly options: ResolvedOptions;
	readonly stats: DemoStats;
	readonly sessions: SessionStore;
	readonly tokens: TokenStore;
	/** Book ids per category slug. */
	readonly byCategory: ReadonlyMap<string, readonly number[]>;
}
