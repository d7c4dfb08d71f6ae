using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Tally.Client;

/// <summary>
/// A typed client for the Tally HTTP API (API.md). Events are sent in batches; each event's idempotency key (or raw
/// event id) is fixed before the first attempt, so resending after a lost answer, a 429/503 or a per-event
/// <c>retry</c> applies it exactly once. Reads return null for a user or board Tally does not know (404); every other
/// refusal is a <see cref="TallyApiException"/> carrying the API's code and field path.
/// </summary>
public sealed class TallyClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly TallyClientOptions _options;
    private readonly bool _ownsHttp;
    // Request bodies are written into buffers kept for the next call: a batch of 500 events is ~120 KB, which would
    // otherwise be a large-object allocation per request.
    private readonly ConcurrentBag<ArrayBufferWriter<byte>> _bodies = new();

    /// <summary>For dependency injection: see <see cref="TallyClientServiceCollectionExtensions.AddTallyClient"/>.</summary>
    public TallyClient(HttpClient http, IOptions<TallyClientOptions> options)
    {
        _options = options.Value;
        _options.Validate();
        _http = http;
        _http.BaseAddress ??= _options.BaseAddress;
        _http.DefaultRequestHeaders.Authorization ??= new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        _http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline times each attempt
    }

    /// <summary>A client without a service container, with the same retry and timeout pipeline.</summary>
    public static TallyClient Create(TallyClientOptions options)
    {
        options.Validate();
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>();
        TallyResilience.Configure(pipeline, options);
        var handler = new ResilienceHandler(pipeline.Build()) { InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) } };
        return new TallyClient(new HttpClient(handler), Options.Create(options), ownsHttp: true);
    }

    private TallyClient(HttpClient http, IOptions<TallyClientOptions> options, bool ownsHttp) : this(http, options) => _ownsHttp = ownsHttp;

    /// <summary>Closes the connections of a client made by <see cref="Create"/>; one from the container is the factory's.</summary>
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    // ---- events ----

    /// <summary>Sends events (any number: in batches of <see cref="TallyClientOptions.BatchSize"/>) and returns each one's outcome.</summary>
    public Task<IngestSummary> IngestAsync(IEnumerable<TallyEvent> events, CancellationToken ct = default) =>
        SendAsync("/v1/events", events as IReadOnlyList<TallyEvent> ?? events.ToList(), static (w, e) => e.WriteTo(w), static e => e.IdempotencyKey, ct);

    /// <summary>Sends events already in the API's JSON shape (each with its <c>idempotency_key</c>).</summary>
    public Task<IngestSummary> IngestJsonAsync(IReadOnlyList<JsonObject> events, CancellationToken ct = default)
    {
        for (var i = 0; i < events.Count; i++)
            if (events[i]["idempotency_key"] is null) throw new ArgumentException($"events[{i}] has no idempotency_key: a retry could apply it twice.", nameof(events));
        return SendAsync("/v1/events", events, static (w, e) => e.WriteTo(w), static e => IdOf(e, "idempotency_key"), ct);
    }

    /// <summary>Sends raw events to <c>POST /v1/collect</c> (API.md, Raw event collection). An event without
    /// <c>event_id</c> gets a UUID here, before the first attempt, so a retry cannot count it twice.</summary>
    public Task<IngestSummary> CollectAsync(IReadOnlyList<JsonObject> rawEvents, CancellationToken ct = default)
    {
        foreach (var e in rawEvents) e["event_id"] ??= Guid.NewGuid().ToString();
        return SendAsync("/v1/collect", rawEvents, static (w, e) => e.WriteTo(w), static e => IdOf(e, "event_id"), ct);
    }

    /// <summary>
    /// Sends the events in batches. Each request body is written once with <see cref="Utf8JsonWriter"/> (no string or
    /// DOM per event: the client often shares a machine's cores with what it measures or serves); the answers are read
    /// as a document, and only an event's error is bound to a type.
    /// </summary>
    private async Task<IngestSummary> SendAsync<T>(string path, IReadOnlyList<T> events, Action<Utf8JsonWriter, T> write, Func<T, string> idOf,
        CancellationToken ct)
    {
        var body = _bodies.TryTake(out var kept) ? kept : new ArrayBufferWriter<byte>(64 * 1024);
        try
        {
            return await SendBatchesAsync(path, events, write, idOf, body, ct);
        }
        finally
        {
            body.ResetWrittenCount();
            if (body.Capacity <= MaxKeptBody) _bodies.Add(body);
        }
    }

    /// <summary>A body buffer larger than this (a batch of thousands of large events) is left to the collector.</summary>
    private const int MaxKeptBody = 4 * 1024 * 1024;

    private async Task<IngestSummary> SendBatchesAsync<T>(string path, IReadOnlyList<T> events, Action<Utf8JsonWriter, T> write, Func<T, string> idOf,
        ArrayBufferWriter<byte> body, CancellationToken ct)
    {
        var results = new EventResult[events.Count];
        int requests = 0, refused = 0;
        for (var start = 0; start < events.Count; start += _options.BatchSize)
        {
            var pending = Enumerable.Range(start, Math.Min(_options.BatchSize, events.Count - start)).ToList();
            for (var attempt = 1; pending.Count > 0; attempt++)
            {
                body.ResetWrittenCount();
                using (var writer = new Utf8JsonWriter(body))
                {
                    writer.WriteStartObject();
                    writer.WriteStartArray("events");
                    foreach (var i in pending) write(writer, events[i]);
                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }
                using var content = new ReadOnlyMemoryContent(body.WrittenMemory);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                requests++;
                using var response = await _http.PostAsync(path, content, ct);
                if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
                {
                    refused++;
                    var error = await ErrorAsync(response, ct);
                    if (attempt < _options.MaxAttempts)
                    {
                        await Task.Delay(Wait(attempt, response.Headers.RetryAfter), ct);
                        continue;
                    }
                    foreach (var i in pending) results[i] = new EventResult(idOf(events[i]), "retry", error);
                    break;
                }
                if (!response.IsSuccessStatusCode) throw new TallyApiException(response.StatusCode, await ErrorAsync(response, ct));
                using var answer = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
                if (!answer.RootElement.TryGetProperty("results", out var answers) || answers.ValueKind != JsonValueKind.Array)
                    throw new TallyApiException(response.StatusCode, new TallyError("bad_answer", $"POST {path} answered without results."));
                if (answers.GetArrayLength() != pending.Count)
                    throw new TallyApiException(response.StatusCode, new TallyError("bad_answer", $"POST {path} answered {answers.GetArrayLength()} results for {pending.Count} events."));
                var again = new List<int>();
                var j = 0;
                foreach (var answered in answers.EnumerateArray())
                {
                    var index = pending[j];
                    var status = answered.TryGetProperty("status", out var s) ? s.GetString() ?? "retry" : "retry";
                    var error = answered.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e.Deserialize<TallyError>() : null;
                    // The API names the field within this request; the caller's list is what the caller knows.
                    if (error?.Field is { } field && field.StartsWith($"events[{j}]", StringComparison.Ordinal))
                        error = error with { Field = $"events[{index}]" + field[$"events[{j}]".Length..] };
                    if (status == "retry" && attempt < _options.MaxAttempts) again.Add(index);
                    else results[index] = new EventResult(idOf(events[index]), status, error);
                    j++;
                }
                pending = again;
                if (pending.Count > 0) await Task.Delay(Wait(attempt, null), ct);
            }
        }
        int accepted = 0, duplicates = 0, rejected = 0, retry = 0;
        foreach (var r in results)
            switch (r.Status)
            {
                case "accepted": accepted++; break;
                case "duplicate": duplicates++; break;
                case "rejected": rejected++; break;
                case "retry": retry++; break;
            }
        return new IngestSummary(accepted, duplicates, rejected, retry, results) { Requests = requests, Refused = refused };
    }

    private static string IdOf(JsonObject e, string field) => e[field]?.ToString() ?? "";

    private TimeSpan Wait(int attempt, RetryConditionHeaderValue? retryAfter)
    {
        if (retryAfter?.Delta is { } delta && delta > TimeSpan.Zero) return delta;
        if (retryAfter?.Date is { } date && date > DateTimeOffset.UtcNow) return date - DateTimeOffset.UtcNow;
        var backoff = _options.RetryDelay * Math.Pow(2, attempt - 1);
        var capped = backoff < TimeSpan.FromSeconds(10) ? backoff : TimeSpan.FromSeconds(10);
        return capped * (0.5 + Random.Shared.NextDouble() / 2); // jitter: many clients do not come back at once
    }

    // ---- reads ----

    /// <summary>A user's stats, or null when the user has no events. <paramref name="at"/> reads as of another day's periods.</summary>
    public Task<UserStats?> GetStatsAsync(string userId, DateOnly? at = null, CancellationToken ct = default) =>
        GetAsync<UserStats>($"/v1/users/{Uri.EscapeDataString(userId)}/stats" + Query(("at", at?.ToString("yyyy-MM-dd"))), ct);

    /// <summary>A page of a board: <paramref name="scope"/> <c>global</c> or <c>country:US</c>; <paramref name="key"/>
    /// defaults to the current period.</summary>
    public async Task<LeaderboardPage> GetLeaderboardAsync(string measure, string scope = "global", string period = "all_time", string? key = null,
        int offset = 0, int limit = 100, CancellationToken ct = default) =>
        await GetAsync<LeaderboardPage>($"/v1/leaderboards/{Uri.EscapeDataString(measure)}" +
            Query(("scope", scope), ("period", period), ("key", key), ("offset", offset.ToString()), ("limit", limit.ToString())), ct)
        ?? throw new TallyApiException(HttpStatusCode.NotFound, new TallyError("not_found", $"No board for {measure}."));

    /// <summary>A user's rank and the entries around it, or null when the user is not on the board.</summary>
    public Task<AroundUser?> GetAroundAsync(string measure, string userId, string scope = "global", string period = "all_time", string? key = null,
        int around = 5, CancellationToken ct = default) =>
        GetAsync<AroundUser>($"/v1/leaderboards/{Uri.EscapeDataString(measure)}/users/{Uri.EscapeDataString(userId)}" +
            Query(("scope", scope), ("period", period), ("key", key), ("around", around.ToString())), ct);

    /// <summary>A rollup of a measure over a scope and period.</summary>
    public async Task<Rollup> GetRollupAsync(string measure, string scope = "global", string period = "all_time", string? key = null, CancellationToken ct = default) =>
        await GetAsync<Rollup>($"/v1/rollups/{Uri.EscapeDataString(measure)}" + Query(("scope", scope), ("period", period), ("key", key)), ct)
        ?? throw new TallyApiException(HttpStatusCode.NotFound, new TallyError("not_found", $"No rollup for {measure}."));

    /// <summary>A declared ratio over a scope and period.</summary>
    public async Task<RatioValue> GetRatioAsync(string ratio, string scope = "global", string period = "all_time", string? key = null, CancellationToken ct = default) =>
        await GetAsync<RatioValue>($"/v1/ratios/{Uri.EscapeDataString(ratio)}" + Query(("scope", scope), ("period", period), ("key", key)), ct)
        ?? throw new TallyApiException(HttpStatusCode.NotFound, new TallyError("not_found", $"No ratio {ratio}."));

    /// <summary>The goal levels a user completed, or null when the user has no events.</summary>
    public Task<GoalCompletions?> GetGoalsAsync(string userId, int offset = 0, int limit = 100, CancellationToken ct = default) =>
        GetAsync<GoalCompletions>($"/v1/users/{Uri.EscapeDataString(userId)}/goals" + Query(("offset", offset.ToString()), ("limit", limit.ToString())), ct);

    /// <summary>The change feed after a cursor (from the oldest kept when null); <paramref name="waitSeconds"/> (0-30)
    /// holds the request until a change comes (keep it below <see cref="TallyClientOptions.RequestTimeout"/>).</summary>
    public async Task<ChangesPage> GetChangesAsync(string? after = null, int limit = 100, IEnumerable<string>? kinds = null, int waitSeconds = 0,
        CancellationToken ct = default) =>
        (await GetAsync<ChangesPage>("/v1/changes" + Query(("after", after), ("limit", limit.ToString()),
            ("kinds", kinds is null ? null : string.Join(',', kinds)), ("wait", waitSeconds == 0 ? null : waitSeconds.ToString())), ct))!;

    private async Task<T?> GetAsync<T>(string pathAndQuery, CancellationToken ct) where T : class
    {
        using var response = await _http.GetAsync(pathAndQuery, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw new TallyApiException(response.StatusCode, await ErrorAsync(response, ct));
        return await response.Content.ReadFromJsonAsync<T>(ct);
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var parts = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private static async Task<TallyError> ErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            if (JsonNode.Parse(text)?["error"]?.Deserialize<TallyError>() is { } error) return error;
        }
        catch (JsonException)
        {
            // not an API error body (a proxy's page): reported as it came
        }
        return new TallyError("http_" + (int)response.StatusCode, text.Length > 200 ? text[..200] : text);
    }
}
