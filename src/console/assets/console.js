/*
 * The operator console (docs/console.md). A classic script over React 18 and htm (globals loaded
 * before it from node_modules): no build step. Everything it reads and changes goes through
 * POST /graphql with the caller's token; the one other call, POST /console/dev-token, exists only in
 * a development process. It never holds a secret value: the API returns credential field names and
 * versions only, and the create form sends what the person typed straight to createConnector.
 */
(function () {
  'use strict';
  var e = React.createElement;
  var html = htm.bind(e);
  var useState = React.useState;
  var useEffect = React.useEffect;
  var useRef = React.useRef;
  var useCallback = React.useCallback;

  var SETTINGS = JSON.parse(document.getElementById('console-settings').textContent || '{}');
  var TOKEN_KEY = 'connector-console:token';
  var TYPES = ['SIEM', 'THREAT_INTEL', 'OSINT', 'BLOCKCHAIN', 'CLOUD_LOGS', 'ENDPOINT', 'NETWORK', 'VULNERABILITY', 'CUSTOM_API'];
  var STATUSES = ['PENDING', 'HEALTHY', 'DEGRADED', 'FAILING', 'PAUSED'];
  var REFRESH_MS = 5000;

  // ---------------------------------------------------------------- the API

  function storedToken() {
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch (_) { return null; }
  }
  function storeToken(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) { /* private mode: the token lives for this page only */ }
  }

  /** An error the API answered, with its extensions.code (VERSION_CONFLICT, FORBIDDEN, …). */
  function ApiError(message, code, extensions) {
    this.name = 'ApiError';
    this.message = message;
    this.code = code || 'ERROR';
    this.extensions = extensions || {};
  }
  ApiError.prototype = Object.create(Error.prototype);

  /** Set by the App: called when the API no longer accepts the token. */
  var onSignInLost = null;

  /** POST /graphql with the token (none: a reverse proxy may add the Authorization header). */
  function gql(token, query, variables) {
    var headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    return fetch('/graphql', { method: 'POST', headers: headers, body: JSON.stringify({ query: query, variables: variables || {} }), credentials: 'same-origin' })
      .then(function (response) {
        return response.json().catch(function () { throw new ApiError('the service answered ' + response.status + ' without a GraphQL body', 'HTTP_' + response.status); });
      })
      .then(function (body) {
        if (body.errors && body.errors.length) {
          var first = body.errors[0];
          var error = new ApiError(first.message, first.extensions && first.extensions.code, first.extensions);
          // An expired or revoked token mid-session: back to the sign-in page, saying why.
          if (error.code === 'UNAUTHENTICATED' && token && onSignInLost) onSignInLost(error);
          throw error;
        }
        return body.data;
      });
  }

  /** Words for an error a person can act on. */
  function explain(error) {
    if (!error) return '';
    switch (error.code) {
      case 'VERSION_CONFLICT':
        return 'Someone (a colleague, an API key or a health policy) changed this connector after you loaded it, so nothing was changed' +
          (typeof error.extensions.currentVersion === 'number' ? ' (it is now at version ' + error.extensions.currentVersion + ')' : '') +
          '. The view has been reloaded: check its state and try again.';
      case 'FORBIDDEN':
        return 'Your role does not allow this. (' + error.message + ')';
      case 'UNAUTHENTICATED':
        return 'The API does not accept this token (expired, revoked or not for this service): sign in again. (' + error.message + ')';
      case 'RATE_LIMITED':
        return 'Too many requests: wait a moment and try again. (' + error.message + ')';
      default:
        return error.message || String(error);
    }
  }

  function fmtTime(value) {
    if (!value) return '—';
    var d = new Date(value);
    return isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }
  function fmtMs(value) {
    return value === null || value === undefined ? '—' : Math.round(value) + ' ms';
  }
  function label(value) {
    return String(value || '').toLowerCase().replace(/_/g, ' ');
  }

  // ---------------------------------------------------------------- queries

  var ME = 'query ConsoleMe { me { tenantId subject email actorType roles canWrite canAdmin } }';
  var BOARD = 'query ConsoleBoard($filter: ConnectorFilter, $after: String) {\n' +
    '  connectorHealthSummary { total enabled byStatus { status count } }\n' +
    '  connectors(first: 100, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor }\n' +
    '    nodes { id name type provider tags enabled syncStatus runState lastSyncAt lastError nextRotationDue version\n' +
    '      metrics { last24h } lastTest { success testedAt } ingestionRuns(first: 1) { status duplicates } } }\n}';
  var PROVIDERS = 'query ConsoleProviders { connectorProviders { id type name description authTypes configSchema credentialsSchema requiredCredentials documentationUrl } }';
  var CONNECTOR = 'query ConsoleConnector($id: ID!) { connector(id: $id) {\n' +
    '  id name type provider tags config authType credentialFields credentialVersion credentialLastRotatedAt nextRotationDue\n' +
    '  enabled enabledChangedAt enabledChangedBy enabledReason syncStatus runState lastSyncAt lastCheckedAt nextSyncAt lastError version isDeleted\n' +
    '  metrics { totalSynced last24h avgLatencyMs }\n' +
    '  lastTest { success testedAt latencyMs message steps { name passed latencyMs message errorCode retryable remediation } sample }\n' +
    '  healthHistory(first: 50) { at from to reason }\n' +
    '  ingestionRuns(first: 10) { id status trigger startedAt finishedAt recordsRead recordsWritten duplicates error }\n' +
    '  records(first: 10) { totalCount nodes { id kind title severity ingestedAt duplicateCount } }\n' +
    '  auditEvents(first: 30) { nodes { id occurredAt eventType actorType actorId actorEmail reason sourceType bulkId } }\n} }';
  var CONNECTOR_FIELDS = 'id enabled runState syncStatus version enabledChangedBy enabledReason';
  var TOGGLE = 'mutation ConsoleToggle($id: ID!, $enabled: Boolean!, $reason: String, $expectedVersion: Int) {\n' +
    '  toggleConnector(id: $id, enabled: $enabled, reason: $reason, expectedVersion: $expectedVersion) { ' + CONNECTOR_FIELDS + ' } }';
  var BULK_TOGGLE = 'mutation ConsoleBulkToggle($input: BulkToggleInput!) { toggleConnectors(input: $input) {\n' +
    '  bulkId counts { total changed unchanged notFound versionConflict failed } results { id outcome error } } }';
  var RUN_STATE = 'query ConsoleRunState($id: ID!) { connector(id: $id) { ' + CONNECTOR_FIELDS + ' } }';
  var TEST_RESULT = 'success testedAt latencyMs message steps { name passed latencyMs message errorCode retryable remediation } sample';
  var TEST = 'mutation ConsoleTest($id: ID!) { testConnector(id: $id) { ' + TEST_RESULT + ' } }';
  var TEST_DRAFT = 'mutation ConsoleTestDraft($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { ' + TEST_RESULT + ' } }';
  var CHECK = 'mutation ConsoleCheck($id: ID!) { checkConnectorHealth(id: $id) { id syncStatus lastCheckedAt } }';
  var CREATE = 'mutation ConsoleCreate($input: CreateConnectorInput!) { createConnector(input: $input) { id name version } }';

  // ---------------------------------------------------------------- small pieces

  function Badge(props) {
    var status = props.status || 'PENDING';
    return html`<span class=${'badge badge-' + status.toLowerCase()}>${label(status)}</span>`;
  }

  function RunState(props) {
    return html`<span class=${'run run-' + String(props.state || '').toLowerCase()}>${label(props.state)}</span>`;
  }

  function Alert(props) {
    if (!props.error) return null;
    var fields = (props.error.extensions && props.error.extensions.fieldErrors) || [];
    return html`<div class="alert" role="alert"><p>${explain(props.error)}</p>
      ${fields.length ? html`<ul>${fields.map(function (f, i) { return html`<li key=${i}><code>${f.path}</code>: ${f.message}</li>`; })}</ul>` : null}</div>`;
  }

  /**
   * A modal dialog: labelled, focus moved into it and kept there (Tab cycles), Escape closes it, and
   * focus goes back to what opened it.
   */
  function Dialog(props) {
    var ref = useRef(null);
    var onClose = useRef(props.onClose);
    onClose.current = props.onClose;
    useEffect(function () {
      var opener = document.activeElement;
      var node = ref.current;
      var first = node && node.querySelector('textarea, input, select, button');
      if (first) first.focus();
      function onKey(event) {
        if (event.key === 'Escape' && onClose.current) { event.preventDefault(); onClose.current(); return; }
        if (event.key !== 'Tab' || !node) return;
        var focusable = Array.prototype.filter.call(node.querySelectorAll('a[href], button, textarea, input, select'), function (el) { return !el.disabled; });
        if (!focusable.length) return;
        var head = focusable[0], tail = focusable[focusable.length - 1];
        if (event.shiftKey && document.activeElement === head) { event.preventDefault(); tail.focus(); }
        else if (!event.shiftKey && document.activeElement === tail) { event.preventDefault(); head.focus(); }
      }
      document.addEventListener('keydown', onKey);
      return function () {
        document.removeEventListener('keydown', onKey);
        if (opener && typeof opener.focus === 'function' && document.contains(opener)) opener.focus();
      };
    }, []);
    return html`<div class="backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title" ref=${ref}>
        <h2 id="dialog-title">${props.title}</h2>
        ${props.children}
      </div>
    </div>`;
  }

  // ---------------------------------------------------------------- the one click

  var SETTLED = { STOPPED: true, RUNNING: true, FAILED: true };

  /**
   * Asks for a reason, sends toggleConnector with the version the caller saw, then follows the run
   * state (STOPPING → STOPPED, STARTING → RUNNING) until it settles.
   */
  function ToggleDialog(props) {
    var connector = props.connector;
    var enable = !connector.enabled;
    var _r = useState(''), reason = _r[0], setReason = _r[1];
    var _b = useState(false), busy = _b[0], setBusy = _b[1];
    var _e = useState(null), error = _e[0], setError = _e[1];
    var _s = useState([]), states = _s[0], setStates = _s[1];
    var _d = useState(false), done = _d[0], setDone = _d[1];
    var cancelled = useRef(false);
    useEffect(function () { return function () { cancelled.current = true; }; }, []);

    function follow(state, rounds) {
      setStates(function (all) { return all[all.length - 1] === state ? all : all.concat([state]); });
      if (SETTLED[state] || (enable && state === 'STARTING' && rounds > 30) || rounds > 120 || cancelled.current) {
        setDone(true);
        if (props.onChanged) props.onChanged();
        return;
      }
      setTimeout(function () {
        if (cancelled.current) return;
        gql(props.token, RUN_STATE, { id: connector.id })
          .then(function (data) { follow(data.connector.runState, rounds + 1); })
          .catch(function (err) { setError(err); setDone(true); });
      }, 500);
    }

    function submit(event) {
      event.preventDefault();
      if (!reason.trim()) { setError(new ApiError('Give a reason: it is kept in the audit trail.', 'BAD_USER_INPUT')); return; }
      setBusy(true);
      setError(null);
      gql(props.token, TOGGLE, { id: connector.id, enabled: enable, reason: reason.trim(), expectedVersion: connector.version })
        .then(function (data) {
          setStates([connector.runState]);
          follow(data.toggleConnector.runState, 0);
        })
        .catch(function (err) {
          setBusy(false);
          setError(err);
          if (err.code === 'VERSION_CONFLICT' && props.onChanged) props.onChanged();
        });
    }

    var verb = enable ? 'Enable' : 'Disable';
    return html`<${Dialog} title=${verb + ' ' + connector.name} onClose=${props.onClose}>
      <form onSubmit=${submit}>
        <p>${enable ? 'Ingestion starts again with its stored configuration and credentials.' : 'Ingestion stops; its configuration and credentials are kept.'}
          ${' '}You are changing version ${connector.version}.</p>
        ${enable && !(connector.lastTest && connector.lastTest.success) ? html`<p class="warning">${connector.lastTest ? 'Its last test failed' : 'It has not been tested yet'}: test it first from its page (<a href=${'#/connector/' + encodeURIComponent(connector.id)}>open</a>).</p>` : null}
        <label for="toggle-reason">Reason (kept in the audit trail)</label>
        <textarea id="toggle-reason" required maxlength="500" value=${reason} disabled=${busy} onInput=${function (ev) { setReason(ev.target.value); }}></textarea>
        <${Alert} error=${error} />
        ${states.length ? html`<p class="progress" role="status" aria-live="polite">Run state: ${states.map(function (s, i) {
          return html`<span key=${i}>${i ? ' → ' : ''}<${RunState} state=${s} /></span>`;
        })}${done ? '' : ' …'}</p>` : null}
        <div class="actions">
          ${done ? null : html`<button type="submit" class=${enable ? 'primary' : 'danger'} disabled=${busy}>${verb}</button>`}
          <button type="button" onClick=${props.onClose}>${done ? 'Close' : 'Cancel'}</button>
        </div>
      </form>
    </${Dialog}>`;
  }

  function BulkDialog(props) {
    var _r = useState(''), reason = _r[0], setReason = _r[1];
    var _b = useState(false), busy = _b[0], setBusy = _b[1];
    var _e = useState(null), error = _e[0], setError = _e[1];
    var _x = useState(null), result = _x[0], setResult = _x[1];
    var verb = props.enabled ? 'Enable' : 'Disable';
    function submit(event) {
      event.preventDefault();
      if (!reason.trim()) { setError(new ApiError('Give a reason: it is kept in the audit trail.', 'BAD_USER_INPUT')); return; }
      setBusy(true);
      var input = { ids: props.connectors.map(function (c) { return c.id; }), expectedVersions: props.connectors.map(function (c) { return c.version; }), enabled: props.enabled, reason: reason.trim() };
      gql(props.token, BULK_TOGGLE, { input: input })
        .then(function (data) { setResult(data.toggleConnectors); if (props.onChanged) props.onChanged(); })
        .catch(function (err) { setError(err); setBusy(false); });
    }
    var names = {};
    props.connectors.forEach(function (c) { names[c.id] = c.name; });
    return html`<${Dialog} title=${verb + ' ' + props.connectors.length + ' connectors'} onClose=${props.onClose}>
      <form onSubmit=${submit}>
        <p>${props.connectors.map(function (c) { return c.name; }).join(', ')}</p>
        <label for="bulk-reason">Reason (kept in each connector's audit trail)</label>
        <textarea id="bulk-reason" required maxlength="500" value=${reason} disabled=${busy} onInput=${function (ev) { setReason(ev.target.value); }}></textarea>
        <${Alert} error=${error} />
        ${result ? html`<div role="status">
          <p>${result.counts.changed} changed, ${result.counts.unchanged} unchanged, ${result.counts.versionConflict} changed by someone else meanwhile, ${result.counts.notFound + result.counts.failed} refused.</p>
          <ul>${result.results.filter(function (r) { return r.outcome !== 'CHANGED'; }).map(function (r) {
            return html`<li key=${r.id}>${names[r.id] || r.id}: ${r.outcome === 'VERSION_CONFLICT' ? 'changed by someone else since you loaded the board; nothing was done to it' : label(r.outcome)}${r.error ? ' (' + r.error + ')' : ''}</li>`;
          })}</ul></div>` : null}
        <div class="actions">
          ${result ? null : html`<button type="submit" class=${props.enabled ? 'primary' : 'danger'} disabled=${busy}>${verb}</button>`}
          <button type="button" onClick=${props.onClose}>${result ? 'Close' : 'Cancel'}</button>
        </div>
      </form>
    </${Dialog}>`;
  }

  // ---------------------------------------------------------------- the health board

  function Board(props) {
    var me = props.me;
    var _f = useState({ type: '', provider: '', tag: '', status: '' }), filter = _f[0], setFilter = _f[1];
    var _d = useState(null), data = _d[0], setData = _d[1];
    var _e = useState(null), error = _e[0], setError = _e[1];
    var _p = useState([]), providers = _p[0], setProviders = _p[1];
    var _s = useState({}), selected = _s[0], setSelected = _s[1];
    var _t = useState(null), toggling = _t[0], setToggling = _t[1];
    var _k = useState(null), bulk = _k[0], setBulk = _k[1];
    var _u = useState(null), updated = _u[0], setUpdated = _u[1];
    var _g = useState(''), tagDraft = _g[0], setTagDraft = _g[1];

    var load = useCallback(function () {
      var f = {};
      if (filter.type) f.type = filter.type;
      if (filter.provider) f.provider = filter.provider;
      if (filter.tag.trim()) f.tag = filter.tag.trim();
      if (filter.status) f.syncStatus = [filter.status];
      var nodes = [];
      function page(after, summary, total) {
        return gql(props.token, BOARD, { filter: f, after: after }).then(function (d) {
          nodes = nodes.concat(d.connectors.nodes);
          // Every connector the caller may see, a page of 100 at a time (up to 1,000 on one board).
          if (d.connectors.pageInfo.hasNextPage && nodes.length < 1000) return page(d.connectors.pageInfo.endCursor, d.connectorHealthSummary, d.connectors.totalCount);
          return { summary: d.connectorHealthSummary, total: d.connectors.totalCount, nodes: nodes };
        });
      }
      return page(null).then(function (result) { setData(result); setError(null); setUpdated(new Date()); }).catch(setError);
    }, [props.token, filter]);

    useEffect(function () {
      load();
      var timer = setInterval(load, REFRESH_MS);
      return function () { clearInterval(timer); };
    }, [load]);
    useEffect(function () {
      gql(props.token, 'query ConsoleProviderIds { connectorProviders { id name } }').then(function (d) { setProviders(d.connectorProviders); }).catch(function () { /* the board works without the list */ });
    }, [props.token]);

    function set(key) { return function (ev) { var next = Object.assign({}, filter); next[key] = ev.target.value; setFilter(next); }; }
    // The tag applies on Enter or blur, not on every keystroke.
    function applyTag() { if (tagDraft.trim() !== filter.tag.trim()) setFilter(Object.assign({}, filter, { tag: tagDraft })); }

    var nodes = data ? data.nodes : [];
    var groups = TYPES.map(function (type) { return { type: type, nodes: nodes.filter(function (n) { return n.type === type; }) }; }).filter(function (g) { return g.nodes.length; });
    var chosen = nodes.filter(function (n) { return selected[n.id]; });
    function select(id, on) { var next = Object.assign({}, selected); if (on) next[id] = true; else delete next[id]; setSelected(next); }

    return html`<section aria-labelledby="board-title">
      <h1 id="board-title">Health board</h1>
      ${data ? html`<p class="summary">${data.summary.total} connectors, ${data.summary.enabled} enabled:
        ${data.summary.byStatus.filter(function (s) { return s.count; }).map(function (s) { return html`<span key=${s.status} class="summary-item"><${Badge} status=${s.status} /> ${s.count}</span>`; })}
        <span class="updated">refreshed ${updated ? updated.toLocaleTimeString() : ''}, every ${REFRESH_MS / 1000} s</span></p>` : html`<p>Loading…</p>`}
      <form class="filters" onSubmit=${function (ev) { ev.preventDefault(); if (tagDraft.trim() !== filter.tag.trim()) applyTag(); else load(); }} aria-label="Filters">
        <div><label for="filter-type">Type</label>
          <select id="filter-type" value=${filter.type} onChange=${set('type')}><option value="">any</option>${TYPES.map(function (t) { return html`<option key=${t} value=${t}>${label(t)}</option>`; })}</select></div>
        <div><label for="filter-provider">Provider</label>
          <select id="filter-provider" value=${filter.provider} onChange=${set('provider')}><option value="">any</option>${providers.map(function (p) { return html`<option key=${p.id} value=${p.id}>${p.name}</option>`; })}</select></div>
        <div><label for="filter-tag">Tag</label>
          <input id="filter-tag" type="text" value=${tagDraft} aria-describedby="filter-tag-hint" onInput=${function (ev) { setTagDraft(ev.target.value); }} onBlur=${applyTag} />
          <small id="filter-tag-hint" class="visually-hidden">Applied on Enter or when you leave the field</small></div>
        <div><label for="filter-status">Health</label>
          <select id="filter-status" value=${filter.status} onChange=${set('status')}><option value="">any</option>${STATUSES.map(function (s) { return html`<option key=${s} value=${s}>${label(s)}</option>`; })}</select></div>
      </form>
      <${Alert} error=${error} />
      ${me.canWrite && chosen.length ? html`<div class="bulk" role="region" aria-label="Selected connectors">
        ${chosen.length} selected:
        <button type="button" class="danger" onClick=${function () { setBulk({ enabled: false }); }}>Disable selected</button>
        <button type="button" class="primary" onClick=${function () { setBulk({ enabled: true }); }}>Enable selected</button>
        <button type="button" onClick=${function () { setSelected({}); }}>Clear selection</button></div>` : null}
      ${data && !nodes.length ? html`<p>No connector matches.${me.canWrite ? html` <a href="#/new">Create one from the catalog</a>.` : ''}</p>` : null}
      ${groups.map(function (group) {
        return html`<section key=${group.type} class="group" aria-labelledby=${'group-' + group.type}>
          <h2 id=${'group-' + group.type}>${label(group.type)} (${group.nodes.length})</h2>
          <table>
            <thead><tr>
              ${me.canWrite ? html`<th scope="col"><input type="checkbox" aria-label=${'Select every ' + label(group.type) + ' connector'}
                checked=${group.nodes.every(function (n) { return selected[n.id]; })}
                onChange=${function (ev) { var next = Object.assign({}, selected); group.nodes.forEach(function (n) { if (ev.target.checked) next[n.id] = true; else delete next[n.id]; }); setSelected(next); }} /></th>` : null}
              <th scope="col">Connector</th><th scope="col">Provider</th><th scope="col">Health</th><th scope="col">Run state</th>
              <th scope="col">Last sync</th><th scope="col">Records (24 h)</th><th scope="col">Duplicates (last run)</th>
              <th scope="col">Last error</th><th scope="col">Next rotation due</th>
              ${me.canWrite ? html`<th scope="col">Action</th>` : null}
            </tr></thead>
            <tbody>${group.nodes.map(function (c) {
              var run = c.ingestionRuns[0];
              return html`<tr key=${c.id} data-connector=${c.id}>
                ${me.canWrite ? html`<td><input type="checkbox" aria-label=${'Select ' + c.name} checked=${!!selected[c.id]} onChange=${function (ev) { select(c.id, ev.target.checked); }} /></td>` : null}
                <td><a href=${'#/connector/' + encodeURIComponent(c.id)}>${c.name}</a>${c.tags.length ? html`<div class="tags">${c.tags.join(', ')}</div>` : null}</td>
                <td>${c.provider}</td>
                <td><${Badge} status=${c.syncStatus} /></td>
                <td><${RunState} state=${c.runState} /></td>
                <td>${fmtTime(c.lastSyncAt)}</td>
                <td class="num">${c.metrics.last24h}</td>
                <td class="num">${run ? run.duplicates : '—'}</td>
                <td class=${c.lastError ? 'error-text' : ''}>${c.lastError || '—'}</td>
                <td>${fmtTime(c.nextRotationDue)}</td>
                ${me.canWrite ? html`<td><button type="button" class=${c.enabled ? 'danger' : 'primary'} onClick=${function () { setToggling(c); }}>${c.enabled ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${c.name}</span></button></td>` : null}
              </tr>`;
            })}</tbody>
          </table>
        </section>`;
      })}
      ${toggling ? html`<${ToggleDialog} token=${props.token} connector=${toggling} onChanged=${load} onClose=${function () { setToggling(null); load(); }} />` : null}
      ${bulk ? html`<${BulkDialog} token=${props.token} enabled=${bulk.enabled} connectors=${chosen} onChanged=${load} onClose=${function () { setBulk(null); setSelected({}); load(); }} />` : null}
    </section>`;
  }

  // ---------------------------------------------------------------- the connector page

  function TestResult(props) {
    var t = props.test;
    if (!t) return html`<p>Not tested yet.</p>`;
    return html`<div class="test">
      <p><strong>${t.success ? 'Passed' : 'Failed'}</strong> in ${fmtMs(t.latencyMs)} at ${fmtTime(t.testedAt)}${t.message ? ': ' + t.message : ''}</p>
      <table>
        <thead><tr><th scope="col">Step</th><th scope="col">Result</th><th scope="col">Latency</th><th scope="col">Message</th><th scope="col">Remediation</th></tr></thead>
        <tbody>${t.steps.map(function (s) {
          return html`<tr key=${s.name}><td>${label(s.name)}</td><td>${s.passed ? 'passed' : 'failed' + (s.errorCode ? ' (' + s.errorCode + (s.retryable ? ', retryable' : '') + ')' : '')}</td>
            <td class="num">${fmtMs(s.latencyMs)}</td><td>${s.message || '—'}</td><td>${s.remediation || '—'}</td></tr>`;
        })}</tbody>
      </table>
      ${t.sample && t.sample.length ? html`<details><summary>Sample records (${t.sample.length})</summary><pre>${JSON.stringify(t.sample, null, 2)}</pre></details>` : null}
    </div>`;
  }

  var STATUS_Y = { HEALTHY: 0, PENDING: 1, DEGRADED: 2, FAILING: 3, PAUSED: 4 };

  /** The health history as a step chart: one row per status, time left to right. */
  function HealthChart(props) {
    var events = props.events.slice().reverse();
    // A toggle moves the status to PAUSED (or PENDING) without a history row: the chart ends in the
    // connector's current status, from when `enabled` last changed.
    var last = events[events.length - 1];
    if (last && props.current && props.current !== last.to && props.since && new Date(props.since) >= new Date(last.at)) {
      events.push({ at: props.since, from: last.to, to: props.current, reason: null });
    }
    if (!events.length) return html`<p>No status change yet.</p>`;
    var width = 640, height = 150, left = 80, top = 6, row = 24;
    var t0 = new Date(events[0].at).getTime();
    var t1 = Math.max(Date.now(), t0 + 1000);
    function x(t) { return left + ((t - t0) / (t1 - t0)) * (width - left - 10); }
    var segments = events.map(function (ev, i) {
      var start = new Date(ev.at).getTime();
      var end = i + 1 < events.length ? new Date(events[i + 1].at).getTime() : t1;
      return { status: ev.to, x1: x(start), x2: Math.max(x(end), x(start) + 2) };
    });
    var summary = 'Health over time: ' + events.map(function (ev) { return label(ev.to) + ' from ' + fmtTime(ev.at); }).join('; ');
    return html`<svg class="chart" viewBox=${'0 0 ' + width + ' ' + height} role="img" aria-label=${summary}>
      ${STATUSES.map(function (s) {
        return html`<text key=${s} x="4" y=${top + STATUS_Y[s] * row + 15} class="chart-label">${label(s)}</text>`;
      })}
      ${segments.map(function (seg, i) {
        return html`<rect key=${i} x=${seg.x1} y=${top + STATUS_Y[seg.status] * row + 4} width=${seg.x2 - seg.x1} height="14" class=${'bar bar-' + seg.status.toLowerCase()} />`;
      })}
      <text x=${left} y=${height - 4} class="chart-label">${fmtTime(events[0].at)}</text>
      <text x=${width - 10} y=${height - 4} class="chart-label" textAnchor="end">now</text>
    </svg>`;
  }

  function ConnectorPage(props) {
    var me = props.me;
    var _c = useState(null), c = _c[0], setC = _c[1];
    var _e = useState(null), error = _e[0], setError = _e[1];
    var _b = useState(''), busy = _b[0], setBusy = _b[1];
    var _t = useState(false), toggling = _t[0], setToggling = _t[1];
    var _r = useState(null), test = _r[0], setTest = _r[1];

    var load = useCallback(function () {
      return gql(props.token, CONNECTOR, { id: props.id }).then(function (d) {
        if (!d.connector) throw new ApiError('No connector ' + props.id + ' that you may see.', 'NOT_FOUND');
        setC(d.connector); setError(null);
      }).catch(setError);
    }, [props.token, props.id]);
    useEffect(function () {
      load();
      var timer = setInterval(load, REFRESH_MS);
      return function () { clearInterval(timer); };
    }, [load]);

    function run(what, query) {
      setBusy(what);
      setError(null);
      return gql(props.token, query, { id: props.id })
        .then(function (d) { if (d.testConnector) setTest(d.testConnector); return load(); })
        .catch(setError)
        .then(function () { setBusy(''); });
    }

    if (!c) return html`<section><h1>Connector</h1><${Alert} error=${error} />${error ? null : html`<p>Loading…</p>`}<p><a href="#/">Back to the board</a></p></section>`;
    var configRows = Object.keys(c.config || {}).sort().map(function (key) {
      var value = c.config[key];
      return html`<tr key=${key}><th scope="row">${key}</th><td><code>${typeof value === 'string' ? value : JSON.stringify(value)}</code></td></tr>`;
    });
    return html`<section aria-labelledby="connector-title">
      <p><a href="#/">Back to the board</a></p>
      <h1 id="connector-title">${c.name}</h1>
      <p class="facts"><${Badge} status=${c.syncStatus} /> <${RunState} state=${c.runState} />
        <span>${label(c.type)} · ${c.provider} · version ${c.version}${c.enabled ? ' · enabled' : ' · disabled'}</span>
        ${c.enabledChangedBy ? html`<span> · last ${c.enabled ? 'enabled' : 'disabled'} by ${c.enabledChangedBy} at ${fmtTime(c.enabledChangedAt)}${c.enabledReason ? ': “' + c.enabledReason + '”' : ''}</span>` : null}</p>
      <p class="muted">Last sync ${fmtTime(c.lastSyncAt)} · last health check ${fmtTime(c.lastCheckedAt)} · next run ${c.enabled ? fmtTime(c.nextSyncAt) : '— (disabled)'}</p>
      ${c.lastError ? html`<p class="error-text">Last error: ${c.lastError}</p>` : null}
      ${me.canWrite && !c.isDeleted ? html`<div class="actions">
        <button type="button" onClick=${function () { run('test', TEST); }} disabled=${!!busy}>${busy === 'test' ? 'Testing…' : 'Test connection'}</button>
        <button type="button" onClick=${function () { run('check', CHECK); }} disabled=${!!busy}>${busy === 'check' ? 'Checking…' : 'Check health now'}</button>
        <button type="button" class=${c.enabled ? 'danger' : 'primary'} onClick=${function () { setToggling(true); }} disabled=${!!busy}>${c.enabled ? 'Disable' : 'Enable'}</button>
      </div>` : null}
      <${Alert} error=${error} />
      <div class="grid">
        <section aria-labelledby="config-title"><h2 id="config-title">Configuration</h2>
          <table><tbody>${configRows}</tbody></table>
          <h3>Credentials</h3>
          <p>Auth: ${label(c.authType)}. ${c.credentialFields.length ? 'Fields set: ' + c.credentialFields.join(', ') + ' (version ' + c.credentialVersion + '); values are never shown.' : 'No credentials.'}</p>
          <p>Last rotated: ${fmtTime(c.credentialLastRotatedAt)}; next rotation due: ${fmtTime(c.nextRotationDue)}.</p>
          <p>Records: ${c.metrics.totalSynced} in all, ${c.metrics.last24h} in the last 24 h; average run latency ${fmtMs(c.metrics.avgLatencyMs)}.</p>
        </section>
        <section aria-labelledby="test-title"><h2 id="test-title">Connection test</h2>
          <${TestResult} test=${test || c.lastTest} />
        </section>
      </div>
      <section aria-labelledby="health-title"><h2 id="health-title">Health history</h2>
        <${HealthChart} events=${c.healthHistory} current=${c.syncStatus} since=${c.enabledChangedAt} />
        <ol class="timeline">${c.healthHistory.slice(0, 10).map(function (h, i) {
          return html`<li key=${i}>${fmtTime(h.at)}: <${Badge} status=${h.from} /> → <${Badge} status=${h.to} />${h.reason ? ' ' + h.reason : ''}</li>`;
        })}</ol>
      </section>
      <section aria-labelledby="runs-title"><h2 id="runs-title">Recent ingestion runs</h2>
        ${c.ingestionRuns.length ? html`<table>
          <thead><tr><th scope="col">Started</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col">Read</th><th scope="col">Written</th><th scope="col">Duplicates</th><th scope="col">Error</th></tr></thead>
          <tbody>${c.ingestionRuns.map(function (r) {
            return html`<tr key=${r.id}><td>${fmtTime(r.startedAt)}</td><td>${label(r.status)}</td><td>${r.trigger}</td><td class="num">${r.recordsRead}</td><td class="num">${r.recordsWritten}</td><td class="num">${r.duplicates}</td><td class=${r.error ? 'error-text' : ''}>${r.error || '—'}</td></tr>`;
          })}</tbody></table>` : html`<p>No run yet.</p>`}
      </section>
      <section aria-labelledby="records-title"><h2 id="records-title">Recent records (${c.records.totalCount})</h2>
        ${c.records.nodes.length ? html`<table>
          <thead><tr><th scope="col">Ingested</th><th scope="col">Kind</th><th scope="col">Title</th><th scope="col">Severity</th><th scope="col">Seen again</th></tr></thead>
          <tbody>${c.records.nodes.map(function (r) {
            return html`<tr key=${r.id}><td>${fmtTime(r.ingestedAt)}</td><td>${label(r.kind)}</td><td>${r.title || '—'}</td><td class="num">${r.severity === null ? '—' : r.severity}</td><td class="num">${r.duplicateCount}</td></tr>`;
          })}</tbody></table>` : html`<p>No record yet.</p>`}
      </section>
      <section aria-labelledby="audit-title"><h2 id="audit-title">Audit trail</h2>
        <ol class="audit">${c.auditEvents.nodes.map(function (a) {
          return html`<li key=${a.id} data-event=${a.eventType}><time dateTime=${a.occurredAt}>${fmtTime(a.occurredAt)}</time>${' '}
            <strong>${label(a.eventType.replace(/^CONNECTOR_/, ''))}</strong> by ${a.actorType === 'SYSTEM' ? 'the system' : (a.actorEmail || a.actorId || label(a.actorType))}${a.actorEmail && a.actorId ? ' (' + a.actorId + ')' : ''}
            ${a.sourceType ? html`<span class="muted"> (${label(a.sourceType)})</span>` : null}
            ${a.reason ? html`<span class="reason">: “${a.reason}”</span>` : null}</li>`;
        })}</ol>
      </section>
      ${toggling ? html`<${ToggleDialog} token=${props.token} connector=${c} onChanged=${load} onClose=${function () { setToggling(false); load(); }} />` : null}
    </section>`;
  }

  // ---------------------------------------------------------------- create from the catalog

  /** One form field for a JSON Schema property; `secret` fields are password inputs. */
  function SchemaField(props) {
    var name = props.name, schema = props.schema || {}, id = props.idPrefix + '-' + name;
    var type = Array.isArray(schema.type) ? schema.type.find(function (t) { return t !== 'null'; }) : schema.type;
    var hint = schema.description ? html`<small id=${id + '-hint'}>${schema.description}</small>` : null;
    var described = schema.description ? id + '-hint' : undefined;
    var text = props.required ? name + ' (required)' : name;
    function change(ev) { props.onChange(name, type === 'boolean' ? ev.target.checked : ev.target.value); }
    var value = props.value === undefined ? '' : props.value;
    var input;
    if (schema.enum) {
      input = html`<select id=${id} value=${value} onChange=${change} aria-describedby=${described} required=${props.required}>
        <option value="">${schema.default !== undefined ? 'default (' + schema.default + ')' : '—'}</option>
        ${schema.enum.map(function (v) { return html`<option key=${String(v)} value=${String(v)}>${String(v)}</option>`; })}</select>`;
    } else if (type === 'boolean') {
      input = html`<input id=${id} type="checkbox" checked=${value === true} onChange=${change} aria-describedby=${described} />`;
    } else if (type === 'integer' || type === 'number') {
      input = html`<input id=${id} type="number" value=${value} onInput=${change} aria-describedby=${described} required=${props.required}
        placeholder=${schema.default !== undefined ? String(schema.default) : ''} min=${schema.minimum} max=${schema.maximum} step=${type === 'integer' ? 1 : 'any'} />`;
    } else if (type === 'string') {
      input = html`<input id=${id} type=${props.secret ? 'password' : schema.format === 'uri' ? 'url' : 'text'} autoComplete=${props.secret ? 'new-password' : 'off'}
        value=${value} onInput=${change} aria-describedby=${described} required=${props.required} placeholder=${schema.default !== undefined ? String(schema.default) : ''} />`;
    } else {
      var placeholder = type === 'array' ? (schema.items && schema.items.type === 'string' ? 'comma-separated, or JSON' : 'JSON array') : 'JSON';
      input = html`<textarea id=${id} rows="2" value=${value} onInput=${change} aria-describedby=${described} required=${props.required} placeholder=${placeholder}></textarea>`;
    }
    return html`<div class="field"><label for=${id}>${text}</label>${input}${hint}</div>`;
  }

  /** The form's strings turned into the JSON the schema asks for; blank fields left out (defaults apply). */
  function toJson(schema, values) {
    var out = {};
    var props = (schema && schema.properties) || {};
    Object.keys(values).forEach(function (key) {
      var raw = values[key];
      if (raw === '' || raw === undefined || raw === null) return;
      var s = props[key] || {};
      var type = Array.isArray(s.type) ? s.type.find(function (t) { return t !== 'null'; }) : s.type;
      if (type === 'boolean') { out[key] = raw === true; return; }
      if (typeof raw !== 'string') { out[key] = raw; return; }
      if (type === 'integer' || type === 'number') {
        var n = Number(raw);
        if (!isFinite(n)) throw new ApiError(key + ' must be a number', 'BAD_USER_INPUT');
        out[key] = n;
        return;
      }
      if (type === 'string' || s.enum) { out[key] = raw; return; }
      var trimmed = raw.trim();
      if (type === 'array' && trimmed[0] !== '[') { out[key] = trimmed.split(',').map(function (x) { return x.trim(); }).filter(Boolean); return; }
      try { out[key] = JSON.parse(trimmed); } catch (_) { throw new ApiError(key + ' must be JSON', 'BAD_USER_INPUT'); }
    });
    return out;
  }

  function CreatePage(props) {
    var _p = useState(null), providers = _p[0], setProviders = _p[1];
    var _i = useState(''), providerId = _i[0], setProviderId = _i[1];
    var _n = useState(''), name = _n[0], setName = _n[1];
    var _g = useState(''), tags = _g[0], setTags = _g[1];
    var _a = useState('NONE'), authType = _a[0], setAuthType = _a[1];
    var _c = useState({}), config = _c[0], setConfig = _c[1];
    var _s = useState({}), secrets = _s[0], setSecrets = _s[1];
    var _t = useState(null), test = _t[0], setTest = _t[1];
    var _e = useState(null), error = _e[0], setError = _e[1];
    var _b = useState(''), busy = _b[0], setBusy = _b[1];

    useEffect(function () {
      gql(props.token, PROVIDERS).then(function (d) { setProviders(d.connectorProviders); }).catch(setError);
    }, [props.token]);
    var provider = providers && providers.find(function (p) { return p.id === providerId; });
    useEffect(function () {
      setConfig({}); setSecrets({}); setTest(null);
      if (provider) setAuthType(provider.authTypes.indexOf('NONE') >= 0 ? 'NONE' : provider.authTypes[0]);
    }, [providerId]);

    if (!providers) return html`<section><h1>New connector</h1><${Alert} error=${error} /><p>Loading the catalog…</p></section>`;
    var configSchema = (provider && provider.configSchema) || {};
    var required = configSchema.required || [];
    var keys = Object.keys(configSchema.properties || {});
    // Required fields first, with where the API is (baseUrl, path; a store's endpoint) even when the schema has a default for them.
    var essential = function (k) { return required.indexOf(k) >= 0 || k === 'baseUrl' || k === 'path' || k === 'endpoint'; };
    var main = keys.filter(essential);
    var more = keys.filter(function (k) { return !essential(k); });
    var credentialNames = provider ? ((provider.requiredCredentials || {})[authType] || []) : [];
    var credentialProps = (provider && provider.credentialsSchema && provider.credentialsSchema.properties) || {};

    function setField(setter, current) { return function (key, value) { var next = Object.assign({}, current); next[key] = value; setter(next); setTest(null); }; }
    function draft() {
      var creds = {};
      credentialNames.forEach(function (k) { if (secrets[k]) creds[k] = secrets[k]; });
      return { provider: providerId, config: toJson(configSchema, config), authType: authType, credentials: Object.keys(creds).length ? creds : null };
    }
    function testDraft(event) {
      event.preventDefault();
      setError(null); setBusy('test');
      var input;
      try { input = draft(); } catch (err) { setError(err); setBusy(''); return; }
      gql(props.token, TEST_DRAFT, { input: input }).then(function (d) { setTest(d.testConnectorConfig); }).catch(setError).then(function () { setBusy(''); });
    }
    function create() {
      if (!name.trim()) { setError(new ApiError('Give the connector a name.', 'BAD_USER_INPUT')); return; }
      setError(null); setBusy('create');
      var input;
      try { input = draft(); } catch (err) { setError(err); setBusy(''); return; }
      input.name = name.trim();
      input.tags = tags.split(',').map(function (t) { return t.trim(); }).filter(Boolean);
      if (!input.credentials) delete input.credentials;
      gql(props.token, CREATE, { input: input })
        .then(function (d) { window.location.hash = '#/connector/' + encodeURIComponent(d.createConnector.id); })
        .catch(function (err) { setError(err); setBusy(''); });
    }

    return html`<section aria-labelledby="create-title">
      <p><a href="#/">Back to the board</a></p>
      <h1 id="create-title">New connector</h1>
      <p>Pick a provider, fill in its settings, test them, then create the connector. It is created disabled: enable it from its page once a test passes.</p>
      <form onSubmit=${testDraft} class="create">
        <div class="field"><label for="create-provider">Provider (required)</label>
          <select id="create-provider" value=${providerId} required onChange=${function (ev) { setProviderId(ev.target.value); }}>
            <option value="">Choose a provider…</option>
            ${TYPES.map(function (type) {
              var of = providers.filter(function (p) { return p.type === type; });
              return of.length ? html`<optgroup key=${type} label=${label(type)}>${of.map(function (p) { return html`<option key=${p.id} value=${p.id}>${p.name}</option>`; })}</optgroup>` : null;
            })}
          </select></div>
        ${provider ? html`<div>
          <p class="muted">${provider.description}${provider.documentationUrl ? ' Vendor documentation: ' + provider.documentationUrl : ''}</p>
          <div class="field"><label for="create-name">Name (required)</label><input id="create-name" type="text" required maxlength="200" value=${name} onInput=${function (ev) { setName(ev.target.value); }} /></div>
          <div class="field"><label for="create-tags">Tags</label><input id="create-tags" type="text" value=${tags} placeholder="comma-separated" onInput=${function (ev) { setTags(ev.target.value); }} /></div>
          <fieldset><legend>Configuration</legend>
            ${main.map(function (k) { return html`<${SchemaField} key=${k} idPrefix="config" name=${k} schema=${configSchema.properties[k]} required=${required.indexOf(k) >= 0} value=${config[k]} onChange=${setField(setConfig, config)} />`; })}
            ${more.length ? html`<details><summary>More settings (${more.length}, optional)</summary>
              ${more.map(function (k) { return html`<${SchemaField} key=${k} idPrefix="config" name=${k} schema=${configSchema.properties[k]} required=${false} value=${config[k]} onChange=${setField(setConfig, config)} />`; })}
            </details>` : null}
          </fieldset>
          <fieldset><legend>Credentials (write-only: never shown again)</legend>
            <div class="field"><label for="create-auth">Authentication</label>
              <select id="create-auth" value=${authType} onChange=${function (ev) { setAuthType(ev.target.value); setTest(null); }}>
                ${provider.authTypes.map(function (a) { return html`<option key=${a} value=${a}>${label(a)}</option>`; })}</select></div>
            ${credentialNames.map(function (k) { return html`<${SchemaField} key=${authType + k} idPrefix="credential" name=${k} schema=${credentialProps[k] || { type: 'string' }} secret=${true} required=${true} value=${secrets[k]} onChange=${setField(setSecrets, secrets)} />`; })}
          </fieldset>
          <${Alert} error=${error} />
          <div class="actions">
            <button type="submit" class="primary" disabled=${!!busy}>${busy === 'test' ? 'Testing…' : '1. Test these settings'}</button>
            <button type="button" onClick=${create} disabled=${!!busy} class=${test && test.success ? 'primary' : ''}>${busy === 'create' ? 'Creating…' : test && test.success ? '2. Create (test passed)' : test ? '2. Create anyway (test failed)' : '2. Create without testing'}</button>
          </div>
          ${test ? html`<section aria-labelledby="draft-test-title"><h2 id="draft-test-title">Test of these settings</h2><${TestResult} test=${test} /></section>` : null}
        </div>` : html`<${Alert} error=${error} />`}
      </form>
    </section>`;
  }

  // ---------------------------------------------------------------- sign-in and the frame

  function SignIn(props) {
    var _t = useState(''), pasted = _t[0], setPasted = _t[1];
    var _n = useState('t1'), tenant = _n[0], setTenant = _n[1];
    var _r = useState('admin'), role = _r[0], setRole = _r[1];
    var _e = useState(null), error = _e[0], setError = _e[1];
    var _b = useState(false), busy = _b[0], setBusy = _b[1];
    function usePasted(event) {
      event.preventDefault();
      var token = pasted.trim().replace(/^Bearer\s+/i, '');
      if (!token) { setError(new ApiError('Paste a token first.', 'BAD_USER_INPUT')); return; }
      props.onToken(token);
    }
    function mint(event) {
      event.preventDefault();
      setBusy(true); setError(null);
      fetch('/console/dev-token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: tenant.trim(), role: role }) })
        .then(function (response) { return response.json().then(function (body) { if (!response.ok) throw new ApiError((body.error && body.error.message) || 'refused (' + response.status + ')', body.error && body.error.code); return body; }); })
        .then(function (body) { props.onToken(body.token); })
        .catch(function (err) { setError(err); setBusy(false); });
    }
    return html`<section aria-labelledby="signin-title" class="signin">
      <h1 id="signin-title">Sign in</h1>
      ${props.error ? html`<${Alert} error=${props.error} />` : null}
      <${Alert} error=${error} />
      ${SETTINGS.devSignIn ? html`<form onSubmit=${mint} aria-labelledby="dev-title">
        <h2 id="dev-title">Development</h2>
        <p>This service runs with its generated development secret: mint a token here, as <code>npm run token</code> does.</p>
        <div class="field"><label for="dev-tenant">Tenant</label><input id="dev-tenant" type="text" required value=${tenant} onInput=${function (ev) { setTenant(ev.target.value); }} /></div>
        <div class="field"><label for="dev-role">Role</label><select id="dev-role" value=${role} onChange=${function (ev) { setRole(ev.target.value); }}>
          <option value="viewer">viewer</option><option value="editor">editor</option><option value="admin">admin</option></select></div>
        <div class="actions"><button type="submit" class="primary" disabled=${busy}>Sign in for development</button></div>
      </form>` : null}
      <form onSubmit=${usePasted} aria-labelledby="paste-title">
        <h2 id="paste-title">With a token</h2>
        <p>Paste a bearer token from your identity provider (or <code>npm run token -- --tenant t1 --role admin</code>). It is kept in this tab only.
          Behind a reverse proxy that sets the Authorization header, the console signs you in by itself.</p>
        <div class="field"><label for="paste-token">Token</label><textarea id="paste-token" rows="3" autoComplete="off" spellCheck="false" value=${pasted} onInput=${function (ev) { setPasted(ev.target.value); }}></textarea></div>
        <div class="actions"><button type="submit" class=${SETTINGS.devSignIn ? '' : 'primary'}>Use this token</button></div>
      </form>
    </section>`;
  }

  function route() {
    var hash = window.location.hash.replace(/^#/, '') || '/';
    var m = /^\/connector\/([^/]+)$/.exec(hash);
    if (m) return { page: 'connector', id: decodeURIComponent(m[1]) };
    if (hash === '/new') return { page: 'new' };
    return { page: 'board' };
  }

  function App() {
    var _t = useState(storedToken()), token = _t[0], setToken = _t[1];
    var _m = useState(null), me = _m[0], setMe = _m[1];
    var _c = useState(true), checking = _c[0], setChecking = _c[1];
    var _e = useState(null), error = _e[0], setError = _e[1];
    var _r = useState(route()), where = _r[0], setWhere = _r[1];

    useEffect(function () {
      function onHash() { setWhere(route()); window.scrollTo(0, 0); }
      window.addEventListener('hashchange', onHash);
      return function () { window.removeEventListener('hashchange', onHash); };
    }, []);
    useEffect(function () {
      setChecking(true);
      // Without a stored token, a reverse proxy may still add the Authorization header.
      gql(token, ME).then(function (d) { setMe(d.me); setError(null); })
        .catch(function (err) { setMe(null); if (token) { storeToken(null); setError(err); } })
        .then(function () { setChecking(false); });
    }, [token]);

    function onToken(next) { storeToken(next); setToken(next); }
    function signOut() { storeToken(null); setToken(null); setMe(null); }
    useEffect(function () {
      onSignInLost = function (err) { storeToken(null); setToken(null); setMe(null); setError(err); };
      return function () { onSignInLost = null; };
    }, []);

    var body;
    if (checking && !me) body = html`<p>Signing in…</p>`;
    else if (!me) body = html`<${SignIn} onToken=${onToken} error=${error} />`;
    else if (where.page === 'connector') body = html`<${ConnectorPage} key=${where.id} token=${token} me=${me} id=${where.id} />`;
    else if (where.page === 'new' && me.canWrite) body = html`<${CreatePage} token=${token} me=${me} />`;
    else body = html`<${Board} token=${token} me=${me} />`;

    return html`<div class="frame">
      <header class="top">
        <a class="brand" href="#/">Connector console</a>
        ${me ? html`<nav aria-label="Console">
          <a href="#/">Health board</a>
          ${me.canWrite ? html`<a href="#/new">New connector</a>` : null}
        </nav>
        <div class="who">${me.email || me.subject} · tenant ${me.tenantId} · ${me.roles.join(', ')}
          ${token ? html` <button type="button" onClick=${signOut}>Sign out</button>` : null}</div>` : null}
      </header>
      <main>${body}</main>
    </div>`;
  }

  ReactDOM.createRoot(document.getElementById('console')).render(html`<${App} />`);
})();
