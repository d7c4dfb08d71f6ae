using System.CommandLine;
using System.Text.Json.Nodes;
using Tally.Client;

namespace Tally.Cli.Loading;

/// <summary>What the API said of one event: <c>accepted</c>, <c>duplicate</c> or <c>rejected</c> with the error
/// (its field relative to the event, e.g. <c>measures.sales</c>).</summary>
internal sealed record EventOutcome(string Status, string? Code = null, string? Message = null, string? Field = null);

/// <summary>
/// Sends events through <c>POST /v1/events</c> (or raw events through <c>/v1/collect</c>) in batches, several at once,
/// with the .NET client (src/Tally.Client): the API validates and logs them as it does any application's. A batch the
/// cluster could not take (503, 429, a dropped connection, events answered <c>retry</c>) is sent again after a pause
/// with the same idempotency keys, so nothing is applied twice.
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

    private readonly TallyClient _client = TallyClient.Create(new TallyClientOptions
    {
        BaseAddress = http.BaseAddress, ApiKey = ingestKey, BatchSize = 10_000, MaxAttempts = 8, RequestTimeout = TimeSpan.FromMinutes(2),
    });
    private long _accepted, _duplicates, _rejected;

    /// <summary>Where batches go: <c>/v1/events</c>, or <c>/v1/collect</c> for raw events (the same answer).</summary>
    public string Path { get; init; } = "/v1/events";

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

    /// <summary>Sends one batch (one request, resent as needed) and counts its outcomes.</summary>
    public async Task<EventOutcome[]> SendAsync(IReadOnlyList<JsonObject> events, CancellationToken ct)
    {
        IngestSummary summary;
        try
        {
            summary = Path == "/v1/collect" ? await _client.CollectAsync(events, ct) : await _client.IngestJsonAsync(events, ct);
        }
        catch (TallyApiException ex)
        {
            throw new CliException($"POST {Path} failed: {ex.Message}");
        }
        catch (Polly.Timeout.TimeoutRejectedException)
        {
            throw new CliException($"POST {Path} did not answer within 2 minutes (the API at {http.BaseAddress}).");
        }
        catch (HttpRequestException ex)
        {
            throw new CliException($"POST {Path} failed: {ex.Message} (the API at {http.BaseAddress} did not answer).");
        }
        if (summary.Retry > 0)
            throw new CliException($"POST {Path}: {summary.Retry} events still had no outcome after every retry (the cluster is not taking events); run the command again: nothing is applied twice.");
        Interlocked.Add(ref _accepted, summary.Accepted);
        Interlocked.Add(ref _duplicates, summary.Duplicates);
        Interlocked.Add(ref _rejected, summary.Rejected);
        var outcomes = new EventOutcome[events.Count];
        for (var i = 0; i < outcomes.Length; i++)
        {
            var r = summary.Results[i];
            var field = r.Error?.Field;
            var prefix = $"events[{i}].";
            if (field is not null && field.StartsWith(prefix, StringComparison.Ordinal)) field = field[prefix.Length..];
            outcomes[i] = r.Status == "rejected" ? new EventOutcome(r.Status, r.Error?.Code, r.Error?.Message, field) : new EventOutcome(r.Status);
        }
        return outcomes;
    }
}
