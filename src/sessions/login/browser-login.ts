// Browser login (issue 11 item 1): Playwright drives a fresh Chromium once per login attempt;
// afterwards every cookie of its context (HttpOnly included) goes into the session's jar, and
// tokens an SPA keeps in storage become the session's tokens. The crawl itself runs over HTTP.
// The browser is closed when the attempt ends, whatever happened: no Chromium outlives a login.
//
// The attempt is one login request for the host throttle and the retry policy: it holds one
// slot of the login host while the browser runs, and the browser's responses are judged like
// any login response (a 429 pauses the host and the login goes again after the wait; a 5xx or a
// network error backs off when the steps failed).
import type {Page} from 'playwright-core';
import {CrawljarError} from '../../errors.js';
import {browserCookiesFor, putBrowserCookies, type BrowserCookie} from '../../browser/cookie-convert.js';
import {launchChromium} from '../../browser/launch-browser.js';
import {firstLines, redactSecrets, screenshotWithoutInput, withDeadline} from '../../browser/page-tools.js';
import {ResponseLog} from '../../browser/response-log.js';
import {cookiesSentTo} from '../../http/cookie-header.js';
import {assertSecureTransport} from '../session-http.js';
import type {Session} from '../session.js';
import {BROWSER_LOGIN_DEFAULTS, browserLoginOptionsSchema, type BrowserLoginOptions} from './browser-login-options.js';
import {bearerHeaders, invalidLoginStrategy, loginFailed, type LoginContext, type LoginStrategy} from './login-strategy.js';
import {jwtExpiresAt} from './token-expiry.js';
import {totpGuard} from './totp.js';

export type {BrowserLoginOptions, BrowserLoginStepsContext, BrowserLoginStorage, BrowserLoginTokens} from './browser-login-options.js';

/** Tokens read from a browser are renewed (by a new login) this long before they expire, at most half their life. */
const TOKEN_SKEW_MS = 30_000;

export function browserLogin(options: BrowserLoginOptions): LoginStrategy {
	const invalid = invalidLoginStrategy('browser', browserLoginOptionsSchema, options);
	if (invalid) return invalid;
	return {
		kind: 'browser',
		options,
		loginUrl: options.url,
		...(options.allowInsecureLogin === undefined ? {} : {allowInsecureLogin: options.allowInsecureLogin}),
		login: (context) => totpGuard.run(context.account, (totp) => loginInBrowser(options, context, totp)),
		...(options.tokens ? {needsRefresh: tokensExpiring} : {}),
		credentialHeaders: bearerHeaders,
	};
}

async function loginInBrowser(options: BrowserLoginOptions, context: LoginContext, totp: () => string): Promise<void> {
	const {account, session} = context;
	const url = new URL(options.url, context.baseUrl).href;
	// The password is typed into that page: the same transport rule as a form post.
	assertSecureTransport(url, account.username, context.allowInsecureLogin === true || options.allowInsecureLogin === true);
	const stepTimeoutMs = options.stepTimeoutMs ?? BROWSER_LOGIN_DEFAULTS.stepTimeoutMs;
	const timeoutMs = options.timeoutMs ?? BROWSER_LOGIN_DEFAULTS.timeoutMs;
	const used: string[] = [];
	const secrets = (): string[] => [account.password, account.totpSecret, ...used].filter((value): value is string => typeof value === 'string' && value !== '');
	const trackedTotp = (): string => {
		const code = totp();
		used.push(code);
		return code;
	};
	const send = context.sendRequest ?? ((_url, _method, request) => request());

	const browser = await launchChromium(`browserLogin for account '${account.username}'`);
	try {
		const browserContext = await browser.newContext();
		const responses = new ResponseLog(browserContext);
		// Cookies the session already holds for the site (consent, a pre-issued cookie) go along.
		await browserContext.addCookies(browserCookiesFor(cookiesSentTo(session.jar, url, new URL(url))));
		const page = await browserContext.newPage();
		page.setDefaultTimeout(stepTimeoutMs);
		page.setDefaultNavigationTimeout(stepTimeoutMs);
		let stepError: unknown;
		const result = await send(url, 'GET', async () => {
			try {
				await withDeadline(timeoutMs, 'the login steps', async () => {
					// The first load of a cold browser is ours, not a user step: bounded by the whole login's limit.
					const first = await page.goto(url, {timeout: timeoutMs}).catch((error: unknown) => {
						// Not reaching the page is a network error for the policy (backoff), not a rejection.
						throw new CrawljarError('ERR_NETWORK', `browserLogin: ${firstLines(redactSecrets(String(error), secrets()), 1)}`, {cause: error});
					});
					if (first && first.status() >= 400) return;
					await options.steps({page, context: browserContext, account, totp: trackedTotp, url});
				});
			} catch (error) {
				if (error instanceof CrawljarError && error.code === 'ERR_NETWORK' && responses.isEmpty) throw error;
				stepError = error;
			}
			return responses.outcomeResult(url, stepError !== undefined);
		});
		const failWith = async (reason: string): Promise<never> => {
			const shot = options.screenshotOnFailure === false ? undefined : await screenshotWithoutInput(page, context.storageDir, session.id);
			throw loginFailed(account, shot ? `${reason} (screenshot, form fields emptied: ${shot})` : reason);
		};
		if (stepError !== undefined) {
			const message = stepError instanceof Error ? stepError.message : String(stepError);
			await failWith(`a login step failed: ${firstLines(redactSecrets(message, secrets()), 3)}`);
		}
		if (result.status >= 400) await failWith(`${result.status} from ${new URL(result.url).pathname}`);
		const isSuccess = options.success ? await options.success({page}) : (await page.locator('input[type=password]:visible').count()) === 0;
		if (!isSuccess) await failWith(options.success ? 'the success check returned false' : 'the login form is still on the page: wrong credentials?');

		const cookies = (await browserContext.cookies()) as BrowserCookie[];
		putBrowserCookies(session.jar, cookies, [new URL(url).origin, ...responses.origins()]);
		if (options.tokens) await readTokens(options, page, cookies, session, context);
	} finally {
		await browser.close();
	}
}

async function readTokens(
	options: BrowserLoginOptions,
	page: Page,
	cookies: readonly BrowserCookie[],
	session: Session,
	context: LoginContext,
): Promise<void> {
	// A string: evaluated in the page (this project compiles without the DOM types).
	const storage = await page.evaluate<{local: Record<string, string>; session: Record<string, string>}>('({local: {...localStorage}, session: {...sessionStorage}})');
	const tokens = await options.tokens!({localStorage: storage.local, sessionStorage: storage.session, cookies, url: page.url()});
	const accessToken = tokens?.accessToken;
	if (typeof accessToken !== 'string' || accessToken === '') throw loginFailed(context.account, 'tokens() found no accessToken in the page’s storage');
	session.setToken({accessToken, refreshToken: tokens?.refreshToken, expiresAt: tokens?.expiresAt ?? jwtExpiresAt(accessToken)}, context.now());
}

/** Tokens read from a browser have no refresh: a login in the browser renews them shortly before they expire. */
function tokensExpiring(session: Session, now: number): boolean {
	const tokens = session.tokens;
	if (!tokens) return true;
	if (tokens.expiresAt === undefined) return false;
	const lifetimeMs = tokens.obtainedAt === undefined ? Infinity : tokens.expiresAt - tokens.obtainedAt;
	return now >= tokens.expiresAt - Math.min(TOKEN_SKEW_MS, lifetimeMs / 2);
}

