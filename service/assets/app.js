// The page of `pipeline serve`. It talks to this server only: lists and
// uploads brands, starts a run from a PDF or a web address, follows the run's
// events live over Server-Sent Events, links its report when it is done and
// lists recent runs. When the server asks for a token (401), it asks for a
// service token once, keeps it in sessionStorage (this tab only) and sends it
// as a Bearer header; URLs that cannot carry a header (the event stream, the
// report links) carry the run's own read token when there is one.
'use strict';

(() => {
  const k_token_key = 'pipeline.service-token';
  // The stages in the order the chain runs them; the server's events name them too.
  const k_stages = [
    { number: 1, name: 'mechanisms' },
    { number: 2, name: 'signals' },
    { number: 3, name: 'lessons' },
    { number: 4, name: 'contextualize' },
    { number: 5, name: 'opportunities' },
  ];
  const k_stage_about = {
    mechanisms: 'What makes the innovation work',
    signals: 'Innovation types and the trends behind it',
    lessons: 'What transfers to other industries',
    contextualize: 'How it fits the brand',
    opportunities: 'Five opportunity cards',
  };
  const k_stage_words = { pending: 'Not started', running: 'Running', waiting: 'Waiting', done: 'Done', failed: 'Failed' };
  const k_final_runs = new Set(['completed', 'failed', 'cancelled']);
  const k_final_jobs = new Set(['done', 'failed', 'dead', 'cancelled']);
  const k_events = ['run_started', 'stage_started', 'stage_progress', 'stage_part_done', 'stage_retry', 'stage_waiting',
    'stage_done', 'stage_failed', 'run_finished'];
  const k_max_retry_notes = 4;

  const $ = (id) => document.getElementById(id);
  const numbers = new Intl.NumberFormat('en-US');

  let serviceToken = sessionStorage.getItem(k_token_key) || '';
  // Run id -> {token, expires (ms)}: read tokens from POST /v1/runs.
  const readTokens = new Map();
  // The run on show: its id, links, event stream, stages and live timer.
  let current = null;
  // Kept across a failed submission so that sending it again cannot start a second run.
  let pendingIdempotencyKey = '';

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // --- Talking to the server -------------------------------------------------

  function withAccessToken(path, runId) {
    const url = new URL(path, window.location.origin);
    const read = runId ? readTokens.get(runId) : undefined;
    const token = read && read.expires > Date.now() + 60000 ? read.token : serviceToken;
    if (token) url.searchParams.set('access_token', token);
    return url.pathname + url.search;
  }

  async function problemMessage(response) {
    try {
      const body = await response.json();
      if (body && (body.detail || body.title)) return body.detail || body.title;
    } catch (_) {
      // Not JSON: the status line says enough.
    }
    return `The server answered ${response.status} ${response.statusText}`.trim();
  }

  // Fetches a /v1 path as JSON; a 401 opens the token form and throws.
  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set('Accept', 'application/json, application/problem+json');
    if (serviceToken) headers.set('Authorization', `Bearer ${serviceToken}`);
    let response;
    try {
      response = await fetch(path, { method: options.method || 'GET', headers, body: options.body, cache: 'no-store' });
    } catch (error) {
      throw new ApiError(0, 'The server did not answer. Is `pipeline serve` still running?');
    }
    if (response.status === 401) {
      // Read to the end, so that the browser is done with the answer.
      await response.text().catch(() => '');
      askForToken(serviceToken ? 'That token was not accepted. Enter a service token.' : '');
      throw new ApiError(401, 'This server needs a service token.');
    }
    if (!response.ok) throw new ApiError(response.status, await problemMessage(response));
    if (response.status === 204) return null;
    return response.json();
  }

  function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // --- Small formatting helpers ----------------------------------------------

  function seconds(value) {
    if (typeof value !== 'number' || !isFinite(value)) return '–';
    if (value < 10) return `${value.toFixed(1)} s`;
    if (value < 60) return `${Math.round(value)} s`;
    const minutes = Math.floor(value / 60);
    return `${minutes} min ${Math.round(value - minutes * 60)} s`;
  }

  function usd(value) {
    if (typeof value !== 'number') return 'not reported';
    if (value === 0) return '$0.00';
    return value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
  }

  // "1,234 in · 567 out"; estimates (a provider that reported no usage) get "≈".
  function tokens(usage) {
    if (!usage) return '–';
    let prompt = usage.prompt_tokens;
    let completion = usage.completion_tokens;
    let about = '';
    if (typeof prompt !== 'number' && typeof usage.estimated_prompt_tokens === 'number') {
      prompt = usage.estimated_prompt_tokens;
      completion = usage.estimated_completion_tokens;
      about = '≈';
    }
    if (typeof prompt !== 'number' && typeof completion !== 'number') return '–';
    return `${about}${numbers.format(prompt || 0)} in · ${about}${numbers.format(completion || 0)} out`;
  }

  function when(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function capitalised(word) {
    return word ? word.charAt(0).toUpperCase() + word.slice(1) : '';
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showMessage(id, text, kind) {
    const node = $(id);
    node.textContent = text || '';
    node.classList.toggle('ok', kind === 'ok');
    node.classList.toggle('error', kind === 'error');
  }

  function announce(text) {
    const region = $('announcer');
    region.appendChild(element('p', '', text));
    while (region.childNodes.length > 6) region.removeChild(region.firstChild);
  }

  // --- The service token ------------------------------------------------------

  function askForToken(message) {
    const panel = $('token-panel');
    const wasHidden = panel.hidden;
    panel.hidden = false;
    showMessage('token-message', message, 'error');
    if (wasHidden) $('token-input').focus();
  }

  function onTokenSubmit(event) {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) {
      showMessage('token-message', 'Enter a token.', 'error');
      $('token-input').focus();
      return;
    }
    serviceToken = value;
    sessionStorage.setItem(k_token_key, value);
    $('token-input').value = '';
    showMessage('token-message', '');
    $('token-panel').hidden = true;
    loadEverything();
  }

  // --- Brands ---------------------------------------------------------------

  async function loadBrands(select) {
    const box = $('brand-select');
    const keep = select || box.value;
    let answer;
    try {
      answer = await api('/v1/brands');
    } catch (error) {
      box.replaceChildren(element('option', '', 'No brands loaded'));
      box.firstChild.value = '';
      if (error.status !== 401) showMessage('brand-message', error.message, 'error');
      return;
    }
    const brands = (answer && answer.brands) || [];
    const options = [];
    const prompt = element('option', '', brands.length ? 'Choose a brand' : 'No brands yet: add one below');
    prompt.value = '';
    options.push(prompt);
    for (const brand of brands) {
      const option = element('option', '', brand.name && brand.name !== brand.id ? `${brand.name} (${brand.id})` : brand.id);
      option.value = brand.id;
      options.push(option);
    }
    box.replaceChildren(...options);
    if (keep && brands.some((brand) => brand.id === keep)) box.value = keep;
    else if (brands.length === 1) box.value = brands[0].id;
    if (!brands.length) $('brand-upload').open = true;
  }

  async function onBrandUpload() {
    const input = $('brand-file');
    const file = input.files && input.files[0];
    if (!file) {
      showMessage('brand-message', 'Choose a brand profile file (JSON) first.', 'error');
      input.focus();
      return;
    }
    let text;
    let profile;
    try {
      text = await file.text();
      profile = JSON.parse(text);
    } catch (_) {
      showMessage('brand-message', `${file.name} is not a JSON file.`, 'error');
      return;
    }
    const id = (profile && typeof profile.id === 'string' && profile.id) || file.name.replace(/\.json$/i, '');
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) {
      showMessage('brand-message', `"${id}" cannot name a brand: use lowercase letters, digits and "-" in its "id".`,
        'error');
      return;
    }
    const button = $('brand-upload-button');
    button.disabled = true;
    showMessage('brand-message', `Uploading ${id}…`);
    try {
      const saved = await api(`/v1/brands/${encodeURIComponent(id)}`, {
        method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: text,
      });
      await loadBrands(saved && saved.id ? saved.id : id);
      showMessage('brand-message', `Brand profile ${(saved && saved.name) || id} saved and chosen.`, 'ok');
      input.value = '';
    } catch (error) {
      showMessage('brand-message', `The brand profile was not saved: ${error.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  // --- Starting a run ---------------------------------------------------------

  function sourceKind() {
    const checked = document.querySelector('input[name="source-kind"]:checked');
    return checked ? checked.value : 'file';
  }

  function onSourceKindChange() {
    const kind = sourceKind();
    $('file-field').hidden = kind !== 'file';
    $('url-field').hidden = kind !== 'url';
  }

  async function onRunSubmit(event) {
    event.preventDefault();
    showMessage('form-message', '');
    const brand = $('brand-select').value;
    if (!brand) {
      showMessage('form-message', 'Choose a brand first.');
      $('brand-select').focus();
      return;
    }
    const priority = $('priority').value;
    let body;
    const headers = {};
    if (sourceKind() === 'file') {
      const file = $('pdf-file').files[0];
      if (!file) {
        showMessage('form-message', 'Choose a PDF file.');
        $('pdf-file').focus();
        return;
      }
      body = new FormData();
      body.append('brand', brand);
      body.append('priority', priority);
      body.append('file', file, file.name);
    } else {
      const url = $('source-url').value.trim();
      if (!/^https?:\/\/\S+$/i.test(url)) {
        showMessage('form-message', 'Enter the web address of a PDF, starting with https://.');
        $('source-url').focus();
        return;
      }
      body = JSON.stringify({ source_url: url, brand, priority });
      headers['Content-Type'] = 'application/json';
    }
    if (!pendingIdempotencyKey) pendingIdempotencyKey = randomKey();
    headers['Idempotency-Key'] = pendingIdempotencyKey;
    const button = $('start-button');
    button.disabled = true;
    button.textContent = 'Starting…';
    try {
      const started = await api('/v1/runs', { method: 'POST', headers, body });
      pendingIdempotencyKey = '';
      if (started.read_token) {
        const expires = Date.parse(started.read_token_expires_at || '') || Date.now() + 3600000;
        readTokens.set(started.run_id, { token: started.read_token, expires });
      }
      $('pdf-file').value = '';
      watchRun(started.run_id, { links: started.links, focus: true });
      loadRecent();
    } catch (error) {
      // A network failure keeps the key: the same request sent again is answered once.
      if (error.status !== 0) pendingIdempotencyKey = '';
      if (error.status !== 401) showMessage('form-message', `The run did not start: ${error.message}`);
    } finally {
      button.disabled = false;
      button.textContent = 'Start the run';
    }
  }

  // --- Following a run ----------------------------------------------------------

  function stageInfo(number) {
    return k_stages.find((stage) => stage.number === number) || { number, name: `stage ${number}` };
  }

  function newStage(number, name) {
    const info = stageInfo(number);
    return {
      number, name: name || info.name, status: 'pending', startedAt: 0, duration: null,
      usage: null, liveTokens: 0, warnings: [], retries: [], error: '', model: '', cached: false, attempt: 0,
    };
  }

  function renderStage(stage) {
    const id = `stage-${stage.number}`;
    let item = $(id);
    if (!item) {
      item = element('li', 'stage');
      item.id = id;
      const head = element('div', 'stage-head');
      const number = element('span', 'stage-num', String(stage.number));
      number.setAttribute('aria-hidden', 'true');
      const title = element('h3', 'stage-name');
      title.append(element('span', 'label'), element('span', 'what'));
      head.append(number, title, element('p', 'badge'));
      const figures = element('dl', 'figures');
      for (const [key, label] of [['time', 'Time'], ['tokens', 'Tokens'], ['cost', 'Cost']]) {
        const pair = element('div', `figure-${key}`);
        pair.append(element('dt', '', label), element('dd'));
        figures.append(pair);
      }
      item.append(head, figures, element('ul', 'notes'));
      $('stage-list').append(item);
    }
    item.dataset.status = stage.status;
    item.querySelector('.label').textContent = capitalised(stage.name);
    item.querySelector('.what').textContent = k_stage_about[stage.name] || '';
    item.querySelector('.badge').textContent = stage.cached && stage.status === 'done' ? 'Reused' : k_stage_words[stage.status] || stage.status;
    let time = seconds(stage.duration);
    if (stage.status === 'running' && stage.startedAt) time = seconds(Math.max(0, (Date.now() - stage.startedAt) / 1000));
    item.querySelector('.figure-time dd').textContent = time;
    let tokenText = tokens(stage.usage);
    if (stage.status === 'running' && !stage.usage && stage.liveTokens) tokenText = `≈${numbers.format(stage.liveTokens)} out so far`;
    item.querySelector('.figure-tokens dd').textContent = tokenText;
    item.querySelector('.figure-cost dd').textContent = stage.usage ? usd(stage.usage.cost_usd) : '–';
    const notes = item.querySelector('.notes');
    const lines = [];
    if (stage.error) lines.push(['error', stage.error]);
    for (const warning of stage.warnings) lines.push(['', `Warning: ${warning}`]);
    const retries = stage.retries.slice(-k_max_retry_notes);
    if (stage.retries.length > retries.length) lines.push(['', `${stage.retries.length - retries.length} earlier attempts not shown`]);
    for (const retry of retries) lines.push(['', retry]);
    notes.replaceChildren(...lines.map(([kind, text]) => element('li', kind, text)));
  }

  function renderRunStatus(status) {
    for (const badge of [$('run-status'), document.querySelector(`#recent-list [data-run="${CSS.escape(current.runId)}"]`)]) {
      if (!badge) continue;
      badge.dataset.status = status;
      badge.textContent = capitalised(status);
    }
  }

  function renderTotals() {
    const done = current.stages.filter((stage) => stage.status === 'done');
    const sum = { prompt_tokens: 0, completion_tokens: 0, cost_usd: null };
    for (const stage of done) {
      if (!stage.usage) continue;
      sum.prompt_tokens += stage.usage.prompt_tokens || 0;
      sum.completion_tokens += stage.usage.completion_tokens || 0;
      if (typeof stage.usage.cost_usd === 'number') sum.cost_usd = (sum.cost_usd || 0) + stage.usage.cost_usd;
    }
    // The run's own sum also counts attempts that failed; it is final once the run is.
    const usage = current.usage && k_final_runs.has(current.status) ? current.usage : sum;
    $('run-totals').textContent = `${done.length} of ${current.stages.length} stages done · ${tokens(usage)} · ` +
      `cost ${usd(usage.cost_usd)}`;
  }

  function renderAll() {
    current.stages.forEach(renderStage);
    renderTotals();
  }

  function stopFollowing() {
    if (!current) return;
    if (current.again) clearTimeout(current.again);
    current.again = 0;
    if (current.source) current.source.close();
    current.source = null;
    if (current.timer) clearInterval(current.timer);
    current.timer = 0;
  }

  function stageOf(data) {
    if (!current || typeof data.stage !== 'number') return null;
    let stage = current.stages.find((entry) => entry.number === data.stage);
    if (!stage) {
      stage = newStage(data.stage, data.name);
      current.stages.push(stage);
      current.stages.sort((a, b) => a.number - b.number);
    }
    if (data.name) stage.name = data.name;
    return stage;
  }

  function label(stage) {
    return `Stage ${stage.number}, ${stage.name}`;
  }

  // Applies one event of the run's stream to the page.
  function onRunEvent(name, data) {
    if (!current || data.run_id && data.run_id !== current.runId) return;
    const stage = stageOf(data);
    if (!stage && name.startsWith('stage_')) return;
    switch (name) {
      case 'run_started':
        if (!k_final_runs.has(current.status)) renderRunStatus(current.status = 'running');
        break;
      case 'stage_started':
        stage.status = 'running';
        stage.startedAt = Date.parse(data.time) || Date.now();
        stage.duration = null;
        stage.usage = null;
        stage.liveTokens = 0;
        stage.error = '';
        stage.attempt = data.attempt || 1;
        if (stage.attempt > 1) stage.retries.push(`Started again (attempt ${stage.attempt})`);
        if (current.status !== 'running') renderRunStatus(current.status = 'running');
        announce(`${label(stage)}: started.`);
        break;
      case 'stage_progress':
        if (typeof data.tokens === 'number') stage.liveTokens = data.tokens;
        break;
      case 'stage_part_done':
        break;
      case 'stage_waiting':
        stage.status = 'waiting';
        stage.retries.push(`Waiting: ${data.reason || 'for another run'}`);
        break;
      case 'stage_retry': {
        const attempt = data.attempt || {};
        const then = { retry: 'trying again', reask: 'asking again', kept: 'kept with warnings' }[attempt.then] || '';
        stage.retries.push(`Attempt ${attempt.number || '?'} failed${attempt.error_class ? ` (${attempt.error_class})` : ''}` +
          `${attempt.message ? `: ${attempt.message}` : ''}${then ? `; ${then}` : ''}`);
        break;
      }
      case 'stage_done':
        stage.status = 'done';
        stage.duration = data.duration_s;
        stage.usage = data.usage || null;
        stage.cached = Boolean(data.cached);
        stage.warnings = Array.isArray(data.warnings) ? data.warnings : [];
        stage.error = '';
        announce(`${label(stage)}: done in ${seconds(stage.duration)}.`);
        break;
      case 'stage_failed':
        stage.status = 'failed';
        stage.duration = data.duration_s;
        stage.error = data.error || data.error_kind || 'The stage failed.';
        announce(`${label(stage)}: stopped. ${stage.error}`);
        break;
      case 'run_finished':
        if (data.usage) current.usage = data.usage;
        if (data.status) renderRunStatus(current.status = data.status);
        announce(data.status === 'completed' ? 'The run is complete. The report is ready.' : `The run ended: ${data.status}.`);
        if (k_final_runs.has(data.status)) stopFollowing();
        refreshRun();
        loadRecent();
        break;
      default:
        return;
    }
    if (stage) renderStage(stage);
    renderTotals();
    updateTimer();
  }

  // Ticks the clock of a running stage once a second, and only then.
  function updateTimer() {
    if (!current) return;
    const running = current.stages.some((stage) => stage.status === 'running');
    if (running && !current.timer && current.source) {
      current.timer = setInterval(() => {
        if (!current) return;
        current.stages.filter((stage) => stage.status === 'running').forEach(renderStage);
      }, 1000);
    } else if (!running && current.timer) {
      clearInterval(current.timer);
      current.timer = 0;
    }
  }

  function isFinal(run) {
    return k_final_runs.has(run.status) || Boolean(run.job && k_final_jobs.has(run.job.state));
  }

  // Takes the run's stored state as the truth: after the stream, or without one.
  function applyRun(run) {
    if (!current || run.run_id !== current.runId) return;
    current.links = run.links || current.links;
    current.status = run.status;
    current.usage = run.usage || current.usage;
    renderRunStatus(run.status);
    const parts = [];
    if (run.brand) parts.push(`for ${run.brand.name || run.brand.id}`);
    if (run.document && run.document.source) {
      const source = String(run.document.source);
      const name = /^https?:/i.test(source) ? source : source.split(/[\\/]/).pop();
      parts.push(run.document.pages ? `${name}, ${run.document.pages} pages` : name);
    }
    if (run.created_at) parts.push(`started ${when(run.created_at)}`);
    if (run.job && run.job.attempts > 1) parts.push(`attempt ${run.job.attempts}`);
    $('run-meta').textContent = parts.join(' · ');
    if (Array.isArray(run.stages)) {
      for (const record of run.stages) {
        const stage = stageOf({ stage: record.number, name: record.name });
        // While the stream runs it is fresher than this snapshot.
        if (current.source && !isFinal(run)) continue;
        stage.status = record.status;
        stage.duration = record.duration_s;
        stage.usage = record.status === 'done' || record.prompt_tokens || record.completion_tokens
          ? { prompt_tokens: record.prompt_tokens, completion_tokens: record.completion_tokens, cost_usd: record.cost_usd }
          : null;
        stage.warnings = Array.isArray(record.warnings) ? record.warnings : [];
        if (record.status !== 'failed') stage.error = '';
      }
    }
    showMessage('run-error', run.error ? `${run.error.message}` : '');
    renderAll();
    const completed = run.status === 'completed';
    const links = current.links || {};
    $('report-link').hidden = !(completed && links.report_html);
    $('other-downloads').hidden = !completed;
    if (completed) {
      $('report-link').href = withAccessToken(links.report_html, run.run_id);
      $('pdf-link').href = withAccessToken(links.report_pdf, run.run_id);
      $('md-link').href = withAccessToken(links.report_md, run.run_id);
      $('json-link').href = withAccessToken(links.opportunities, run.run_id);
    }
    $('cancel-button').hidden = isFinal(run);
    if (isFinal(run)) {
      stopFollowing();
    } else if (!current.source && !current.again) {
      // The stream was refused (too many streams, a token that ran out): try again soon.
      current.again = setTimeout(() => {
        if (current && current.runId === run.run_id && !current.source) {
          current.again = 0;
          follow();
        }
      }, 5000);
    }
    updateTimer();
  }

  async function refreshRun() {
    if (!current) return;
    const runId = current.runId;
    try {
      applyRun(await api(`/v1/runs/${encodeURIComponent(runId)}`));
    } catch (error) {
      if (current && current.runId === runId && error.status !== 401) showMessage('run-error', error.message);
    }
  }

  function follow() {
    const links = current.links || {};
    const path = links.events || `/v1/runs/${encodeURIComponent(current.runId)}/events`;
    const source = new EventSource(withAccessToken(path, current.runId));
    current.source = source;
    for (const name of k_events) {
      source.addEventListener(name, (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch (_) {
          return;
        }
        if (current && current.source === source) onRunEvent(name, data);
      });
    }
    // The stream ends once the run is final; the browser would connect again,
    // so the run's state decides whether to let it.
    source.addEventListener('error', () => {
      if (!current || current.source !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        current.source = null;
        updateTimer();
      }
      refreshRun();
    });
  }

  async function watchRun(runId, options = {}) {
    stopFollowing();
    current = { runId, links: options.links || null, source: null, timer: 0, again: 0, status: 'queued', usage: null, stages: [] };
    for (const info of k_stages) current.stages.push(newStage(info.number, info.name));
    $('stage-list').replaceChildren();
    $('announcer').replaceChildren();
    $('run-panel').hidden = false;
    $('run-title').textContent = `Run ${runId}`;
    $('run-meta').textContent = '';
    showMessage('run-error', '');
    $('report-link').hidden = true;
    $('other-downloads').hidden = true;
    $('cancel-button').hidden = false;
    renderRunStatus('queued');
    renderAll();
    history.replaceState(null, '', `#run=${encodeURIComponent(runId)}`);
    if (options.focus) $('run-title').focus();
    let run;
    try {
      run = await api(`/v1/runs/${encodeURIComponent(runId)}`);
    } catch (error) {
      if (error.status !== 401) showMessage('run-error', error.message);
      return;
    }
    if (!current || current.runId !== runId) return;
    if (!isFinal(run)) follow();
    applyRun(run);
  }

  async function onCancel() {
    if (!current) return;
    const button = $('cancel-button');
    button.disabled = true;
    try {
      await api(`/v1/runs/${encodeURIComponent(current.runId)}/cancel`, { method: 'POST' });
      announce('Cancelling the run.');
      await refreshRun();
    } catch (error) {
      if (error.status !== 401) showMessage('run-error', `The run was not cancelled: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  // --- Recent runs ----------------------------------------------------------------

  async function loadRecent() {
    let answer;
    try {
      answer = await api('/v1/runs?limit=10');
    } catch (error) {
      if (error.status !== 401) showMessage('recent-message', error.message, 'error');
      return;
    }
    showMessage('recent-message', '');
    const runs = (answer && answer.runs) || [];
    const items = runs.map((run) => {
      const item = element('li');
      const button = element('button', 'run-link', run.run_id);
      button.type = 'button';
      button.setAttribute('aria-label', `Show run ${run.run_id}`);
      button.addEventListener('click', () => watchRun(run.run_id, { links: run.links, focus: true }));
      const status = element('p', 'status-badge', capitalised(run.status));
      status.dataset.status = run.status;
      status.dataset.run = run.run_id;
      const detail = [];
      if (run.brand) detail.push(run.brand.name || run.brand.id);
      if (run.document && run.document.source) {
        const source = String(run.document.source);
        detail.push(/^https?:/i.test(source) ? source : source.split(/[\\/]/).pop());
      }
      if (run.created_at) detail.push(when(run.created_at));
      item.append(button, status, element('p', 'detail', detail.join(' · ')));
      return item;
    });
    if (!items.length) items.push(element('li', 'recent-empty', 'No runs yet.'));
    $('recent-list').replaceChildren(...items);
  }

  // --- Start -----------------------------------------------------------------

  function loadEverything() {
    loadBrands();
    loadRecent();
    const match = /^#run=(.+)$/.exec(window.location.hash);
    if (match) watchRun(decodeURIComponent(match[1]));
  }

  function start() {
    $('token-form').addEventListener('submit', onTokenSubmit);
    $('brand-upload-button').addEventListener('click', onBrandUpload);
    for (const radio of document.querySelectorAll('input[name="source-kind"]')) radio.addEventListener('change', onSourceKindChange);
    $('run-form').addEventListener('submit', onRunSubmit);
    $('cancel-button').addEventListener('click', onCancel);
    $('recent-refresh').addEventListener('click', loadRecent);
    onSourceKindChange();
    loadEverything();
  }

  start();
})();
