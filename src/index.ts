// The public API, listed by hand (no `export *`): what is here is what we promise to keep.
export {defineCrawler} from './define-crawler.js';
export {runCrawler} from './runner/run-crawler.js';
export type {RunOptions} from './runner/run-crawler.js';
export {openClient} from './client/open-client.js';
export type {Client} from './client/open-client.js';
export type {ClientOptions, ClientRequestOptions} from './client/client-options.js';
export {HttpStatusError} from './client/client-response.js';
export type {ClientResponse, ResponsePromise} from './client/client-response.js';
export {startScheduler} from './scheduler/start-scheduler.js';
export type {StartSchedulerCrawler, StartSchedulerDeps} from './scheduler/start-scheduler.js';
export type {Scheduler, SchedulerEvent, SchedulerOptions} from './scheduler/scheduler.js';
export {formLogin} from './sessions/login/form-login.js';
export type {FormFieldsContext, FormLoginOptions, FormLoginStep, FormLoginSuccess, FormSuccessContext} from './sessions/login/form-login.js';
export {tokenLogin} from './sessions/login/token-login.js';
export type {TokenLoginOptions, TokenRefreshOptions} from './sessions/login/token-login.js';
export {browserLogin} from './sessions/login/browser-login.js';
export type {BrowserLoginOptions, BrowserLoginStepsContext, BrowserLoginStorage, BrowserLoginTokens} from './sessions/login/browser-login.js';
export type {BrowserCookie} from './browser/cookie-convert.js';
export type {BrowserOptions} from './browser/browser-options.js';
export {customLogin} from './sessions/login/login-strategy.js';
export type {CustomLogin, CustomLoginOptions, LoginContext, LoginOption, LoginStrategy} from './sessions/login/login-strategy.js';
export type {Session} from './sessions/session.js';
export {CrawljarError, NonRetryableError, isCrawljarError} from './errors.js';
export type {ErrorCode} from './errors.js';
export type {RetryOptions} from './policy/retry-options.js';
export type {RunSummary} from './output/summary.js';
export type {ProgressSnapshot} from './output/progress.js';
export type {ScheduleOption} from './scheduler/schedule-options.js';
export type {
	Account,
	CrawlerDefinition,
	EnqueueOptions,
	HandlerContext,
	HostOptions,
	HostOverride,
	LoggedOutContext,
	Logger,
	RequestInfo,
	ResponseInfo,
	RouteConfig,
	RouteHandler,
	BrowserHandlerContext,
	BrowserRouteConfig,
	BrowserRouteHandler,
	SessionOptions,
	StartRequest,
} from './job/types.js';
