// Form login (issue 3 item 1): GET the login page with the session's jar, pick the form, copy
// what a browser would submit (hidden CSRF inputs included), fill the fields, submit with the
// form's own method, enctype and action, and judge success. Redirects are followed by fetchPage
// with the jar applied on every hop, so every Set-Cookie along the way is kept.
import {randomBytes} from 'node:crypto';
import type {CheerioAPI} from 'cheerio';
import {assertSecureTransport, type HttpResponse, type SessionHttp} from '../session-http.js';
import {formLoginOptionsSchema, type FormLoginOptions, type FormLoginStep, type FormLoginSuccess} from './form-login-options.js';
import {totpGuard, type TotpCode} from './totp.js';
import {bearerHeaders, invalidLoginStrategy, loginFailed, type LoginContext, type LoginStrategy} from './login-strategy.js';

export type {FormFieldsContext, FormLoginOptions, FormLoginStep, FormLoginSuccess, FormSuccessContext} from './form-login-options.js';

const PASSWORD_FORM = 'form:has(input[type=password])';

export function formLogin(options: FormLoginOptions): LoginStrategy {
	// Called while the crawler file is imported: bad options must not throw here, where the error
	// could not name the file. They travel on the strategy; the definition check reports them.
	const invalid = invalidLoginStrategy('form', formLoginOptionsSchema, options);
	if (invalid) return invalid;
	return {
		kind: 'form',
		options,
		loginUrl: options.url,
		...(options.allowInsecureLogin === undefined ? {} : {allowInsecureLogin: options.allowInsecureLogin}),
		// Logins of an account with a totpSecret take turns, each with a fresh code (totp.ts).
		login: (context) => totpGuard.run(context.account, (totp) => submitLoginForm(options, context, totp)),
		credentialHeaders: bearerHeaders,
	};
}

async function submitLoginForm(options: FormLoginOptions, context: LoginContext, totp: TotpCode): Promise<void> {
	const {account, http} = context;
	// One form (`fields`) is a login of one step.
	const steps: readonly FormLoginStep[] = options.steps ?? [{fields: options.fields!, ...(options.formSelector ? {formSelector: options.formSelector} : {})}];
	let previous: HttpResponse | undefined;
	for (const [index, step] of steps.entries()) {
		const where = steps.length > 1 ? `step ${index + 1} of ${steps.length} (steps[${index}]): ` : '';
		const page = previous === undefined || step.url !== undefined ? await http.get(step.url ?? options.url) : previous;
		if (page.status >= 400) throw loginFailed(account, `${where}${page.status} from ${pathOf(page.url)}`);
		const fields = step.fields({account, totp});
		const form = pickForm(page.$, step.formSelector, Object.keys(fields), steps.length > 1);
		if (form.length === 0) {
			// No login form any more: the jar is already logged in (a wiki shows the page instead of
			// the form) when the success check says so; then there is nothing to submit.
			if (index === 0 && (await judgeLogin(options.success, page, context)) === undefined) return;
			const wanted = step.formSelector ? `no form matches '${step.formSelector}'` : steps.length > 1 ? 'no form on the page' : 'no form with a password field';
			throw loginFailed(account, `${where}${wanted} at ${pathOf(page.url)}`);
		}
		previous = await submitForm(http, page, form, fields, options, account.username);
		if (index < steps.length - 1 && previous.status >= 400) throw loginFailed(account, `${where}${previous.status} from ${pathOf(previous.url)}`);
	}
	const failure = await judgeLogin(options.success, previous!, context);
	if (failure) throw loginFailed(account, failure);
}

/**
 * The step's form: by its selector; else the first with a password field; in a multi-step login
 * also the first with an input named like one of the step's fields, else the page's first form.
 */
function pickForm($: CheerioAPI, selector: string | undefined, names: readonly string[], isMultiStep: boolean): ReturnType<CheerioAPI> {
	if (selector) return $(selector).first();
	const withPassword = $(PASSWORD_FORM).first();
	if (withPassword.length > 0 || !isMultiStep) return withPassword;
	const named = $('form').filter((_, form) => names.some((name) => $(form).find(`[name="${name.replace(/"/g, '\\"')}"]`).length > 0));
	return named.length > 0 ? named.first() : $('form').first();
}

/** Submits `form` as a browser would: its method, enctype and action, the page's controls plus `fields`. */
async function submitForm(http: SessionHttp, page: HttpResponse, form: ReturnType<CheerioAPI>, fields: Record<string, string>, options: FormLoginOptions, username: string): Promise<HttpResponse> {
	const pairs = fillFields(successfulControls(page.$, form), fields);
	const action = new URL(form.attr('action') || page.url, page.url).href;
	const method = (form.attr('method') ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET';
	const enctype = (form.attr('enctype') ?? '').toLowerCase();
	if (method === 'GET') {
		// A GET form puts the password in the URL: the transport check applies to it too.
		assertSecureTransport(action, username, options.allowInsecureLogin === true);
		const target = new URL(action);
		target.search = new URLSearchParams(pairs).toString();
		return http.get(target.href);
	}
	if (enctype === 'multipart/form-data') {
		const boundary = `----crawljar${randomBytes(12).toString('hex')}`;
		return http.post(action, {body: multipartBody(pairs, boundary), headers: {'content-type': `multipart/form-data; boundary=${boundary}`}});
	}
	return http.post(action, {body: new URLSearchParams(pairs).toString(), headers: {'content-type': 'application/x-www-form-urlencoded'}});
}

/** What a browser submits for the form, in document order (issue 3 item 1: hidden inputs included). */
function successfulControls($: CheerioAPI, form: ReturnType<CheerioAPI>): Array<[string, string]> {
	const pairs: Array<[string, string]> = [];
	let hasSubmitter = false;
	form.find('input, select, textarea, button').each((_, element) => {
		const control = $(element);
		const name = control.attr('name');
		if (!name || control.is('[disabled]')) return;
		const tag = (element as {tagName?: string}).tagName?.toLowerCase() ?? '';
		const type = (control.attr('type') ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase();
		if (tag === 'select') {
			const selected = control.find('option[selected]').first();
			const option = selected.length > 0 ? selected : control.find('option').first();
			if (option.length > 0) pairs.push([name, option.attr('value') ?? option.text()]);
		} else if (tag === 'textarea') {
			pairs.push([name, control.text()]);
		} else if (type === 'checkbox' || type === 'radio') {
			if (control.is('[checked]')) pairs.push([name, control.attr('value') ?? 'on']);
		} else if (type === 'submit') {
			// The first named submit button counts as the one clicked (some frameworks require it).
			if (!hasSubmitter) pairs.push([name, control.attr('value') ?? '']);
			hasSubmitter = true;
		} else if (type !== 'button' && type !== 'reset' && type !== 'file' && type !== 'image') {
			pairs.push([name, control.attr('value') ?? '']);
		}
	});
	return pairs;
}

/** The user's fields replace the page's value for the same name, or are appended. */
function fillFields(pairs: Array<[string, string]>, fields: Record<string, string>): Array<[string, string]> {
	const result = [...pairs];
	for (const [name, value] of Object.entries(fields)) {
		const index = result.findIndex(([existing]) => existing === name);
		if (index === -1) result.push([name, value]);
		else result[index] = [name, value];
	}
	return result;
}

function multipartBody(pairs: Array<[string, string]>, boundary: string): Buffer {
	const escape = (name: string) => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
	const parts = pairs.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"\r\n\r\n${value}\r\n`);
	return Buffer.from(`${parts.join('')}--${boundary}--\r\n`, 'utf8');
}

/** The reason the login failed, or undefined when it succeeded. */
async function judgeLogin(success: FormLoginSuccess | undefined, response: HttpResponse, context: LoginContext): Promise<string | undefined> {
	if (typeof success === 'function') {
		const isSuccess = await success({response, $: response.$, session: context.session, account: context.account});
		return isSuccess ? undefined : `the success check returned false (${response.status} from ${pathOf(response.url)})`;
	}
	if (response.status >= 400) return `${response.status} from ${pathOf(response.url)}`;
	if (success === undefined) {
		return response.$(PASSWORD_FORM).length > 0 ? 'the login form came back: wrong credentials or a stale CSRF token' : undefined;
	}
	if ('cookie' in success) return context.session.hasCookie(success.cookie) ? undefined : `the cookie '${success.cookie}' was not set`;
	if ('urlNot' in success) return response.url.includes(success.urlNot) ? `still at ${pathOf(response.url)} after submitting the form` : undefined;
	return response.$(success.selector).length > 0 ? undefined : `'${success.selector}' is not on the page after submitting the form`;
}

/** The path alone: a query string may carry the submitted fields. */
function pathOf(url: string): string {
	return new URL(url).pathname;
}
