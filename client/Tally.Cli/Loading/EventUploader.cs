using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Tally.Cli.Loading;

/// <summary>What the API said of one event: <c>accepted</c>, <c>duplicate</c> or <c>rejected</c> with the error
/// (its field relative to the event, e.g. <c>measures.sales</c>).</summary>
internal sealed record EventOutcome(string Status, string? Code = null, string? Message = null, string? Field = null);

/// <summary>
/// Sends events through <c>POST /v1/events</c> in batches, several at once: the API validates and logs them as it
/// does any application's. A batch the cluster could not take (503, 429, a dropped connection) is sent again
/// after a pause; its idempotency keys make that safe.
/// </summary>
internal sealed class EventUploader(HttpClient http, string ingestKey, int concurrency)
{
    /// <summary>The options every loading command takes: rows per request (within the API's limit) and requests in flight.</summary>
    public static (Option<int> Batch, Option<int> Concurrency) Options(string rows)
    {
        var batch = TallyCli.Positive("--batch", 500, $"{rows} per request (at most 10,000).");
        TallyCli.Require(batch, b => b <= 10_000, "--batch must be at most 10000 (the API's limit per request).");
        return (batch, TallyCli.Positive("--concurrency", 4, "Requests in flight."));
    }

    private const int Attempts = 8;

    /// <summary>Where batches go: <c>/v1/events</c>, or <c>/v1/collect</c> for raw events (the same answer).</summary>
    public string Path { get; init; } = "/v1/events";
    private long _accepted, _duplicates, _rejected;

    public long Accepted => Interlocked.Read(ref _accepted);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Rejected => Interlocked.Read(ref _rejected);
    public long Done => Accepted + Duplicates + Rejected;

    /// <summary>Uploads every batch; <paramref name="onBatch"/> gets each batch's outcomes in request order (called concurrently).</summary>
    public Task UploadAsync<T>(IEnumerable<T> batches, Func<T, IReadOnlyList<JsonObject>> events, Action<T, EventOutcome[]> onBatch, CancellationToken ct) =>
        Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (batch, token) =>
        {
            var list = events(batch);
            if (list.Count == 0) return;
            onBatch(batch, await SendAsync(list, token));
        });

    public async Task<EventOutcome[]> SendAsync(IReadOnlyList<JsonObject> events, CancellationToken ct)
    {
        var body = new StringBuilder("{\"events\":[");
        for (var i = 0; i < events.Count; i++) body.Append(i == 0 ? "" : ",").Append(events[i].ToJsonString());
        var json = body.Append("]}").ToString();
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ingestKey);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, ct);
            }
            catch (HttpRequestException) when (attempt < Attempts)
            {
                await Task.Delay(Backoff(attempt, null), ct);
                continue;
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests && attempt < Attempts)
                {
                    await Task.Delay(Backoff(attempt, response.Headers.RetryAfter?.Delta), ct);
                    continue;
                }
                if (!response.IsSuccessStatusCode) throw new CliException($"POST {Path} failed: {(int)response.StatusCode} {text}");
                return Count(JsonNode.Parse(text)!["results"]!.AsArray(), events.Count);
            }
        }
    }

    private EventOutcome[] Count(JsonArray results, int expected)
    {
        if (results.Count != expected) throw new CliException($"POST {Path} answered {results.Count} results for {expected} events.");
        var outcomes = new EventOutcome[expected];
        for (var i = 0; i < expected; i++)
        {
            var status = (string)results[i]!["status"]!;
            switch (status)
            {
                case "accepted": Interlocked.Increment(ref _accepted); outcomes[i] = new EventOutcome(status); break;
                case "duplicate": Interlocked.Increment(ref _duplicates); outcomes[i] = new EventOutcome(status); break;
                default:
                    Interlocked.Increment(ref _rejected);
                    var error = results[i]!["error"];
                    var field = (string?)error?["field"];
                    var prefix = $"events[{i}].";
                    if (field is not null && field.StartsWith(prefix, StringComparison.Ordinal)) field = field[prefix.Length..];
                    outcomes[i] = new EventOutcome(status, (string?)error?["code"], (string?)error?["message"], field);
                    break;
            }
        }
        return outcomes;
    }

    private static TimeSpan Backoff(int attempt, TimeSpan? retryAfter) =>
        retryAfter is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(Math.Min(200 * (1 << attempt), 5_000));
}
