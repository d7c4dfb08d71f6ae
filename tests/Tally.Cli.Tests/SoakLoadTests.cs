using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Shouldly;
using Tally.Cli.Bench;
using Tally.Client;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary>The soak's open-loop sender against a fake API: what it re-sends, what it counts, what it does not send.</summary>
public class SoakLoadTests
{
    // 10 requests of 100 events a second; the schedule ends after 950 ms, so 10 requests are due (at 0, 100, ... 900 ms):
    // time enough for the first answer to come back before the last request leaves, even on a busy machine.
    private static readonly SoakBench.Settings Settings = new(Rate: 1_000, Minutes: 1, Batch: 100, Users: 1_000, Reads: 0, Connections: 8, SampleSeconds: 1, Out: null, WriteDocs: false);
    private static readonly TimeSpan Schedule = TimeSpan.FromMilliseconds(950);
    private const int DueRequests = 10;

    /// <summary>Answers <c>POST /v1/events</c> as the function says and remembers every idempotency key it was sent.</summary>
    private sealed class FakeApi(Func<string[], Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        public readonly ConcurrentQueue<string> Keys = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var events = JsonNode.Parse(await request.Content!.ReadAsStringAsync(ct))!["events"]!.AsArray();
            var keys = events.Select(e => (string)e!["idempotency_key"]!).ToArray();
            foreach (var key in keys) Keys.Enqueue(key);
            return await answer(keys);
        }
    }

    private static HttpResponseMessage Results(IEnumerable<(string Key, string Status)> results)
    {
        var list = new JsonArray(results.Select(r => (JsonNode)new JsonObject { ["idempotency_key"] = r.Key, ["status"] = r.Status }).ToArray());
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(new JsonObject { ["results"] = list }.ToJsonString(), Encoding.UTF8, "application/json") };
    }

    private static async Task<(SoakSample Sample, SoakLoad Load)> RunAsync(FakeApi api, SoakBench.Settings settings, bool drain = true)
    {
        // The soak's own client settings, over the fake API instead of a socket.
        var url = new Uri("http://tally.test");
        var ingest = new TallyClient(new HttpClient(api), Options.Create(SoakLoad.ClientOptions(url, "ingest-key")));
        var reads = new TallyClient(new HttpClient(api), Options.Create(SoakLoad.ClientOptions(url, "read-key")));
        var meter = new SoakMeter();
        var load = new SoakLoad(ingest, reads, settings, meter);
        var clock = Stopwatch.StartNew();
        await load.IngestAsync(clock, Schedule);
        if (drain) await load.DrainAsync(TimeSpan.FromSeconds(10));
        else await Task.Delay(200); // the last request leaves on a thread-pool task of its own
        return (meter.Take(TimeSpan.Zero, clock.Elapsed, null, null, null), load);
    }

    [Fact]
    public async Task an_event_answered_retry_is_sent_once_more_with_its_key_and_then_left()
    {
        string? unlucky = null;
        var api = new FakeApi(keys =>
        {
            Interlocked.CompareExchange(ref unlucky, keys[0], null);
            return Task.FromResult(Results(keys.Select(k => (k, k == unlucky ? "retry" : "accepted"))));
        });
        var (sample, load) = await RunAsync(api, Settings);

        api.Keys.Count(k => k == unlucky).ShouldBe(2);
        sample.RequestsSent.ShouldBe(DueRequests);
        sample.RetryEvents.ShouldBe(2);
        sample.ResentEvents.ShouldBe(1);
        load.LostRetries.ShouldBe(1);
        sample.Accepted.ShouldBe(DueRequests * Settings.Batch - 1);
        load.Unexpected.ShouldBeNull();
    }

    [Fact]
    public async Task a_duplicate_of_a_re_sent_event_counts_as_accepted()
    {
        string? unlucky = null;
        var seen = 0;
        var api = new FakeApi(keys =>
        {
            Interlocked.CompareExchange(ref unlucky, keys[0], null);
            string Status(string key) => key != unlucky ? "accepted" : Interlocked.Increment(ref seen) == 1 ? "retry" : "duplicate";
            return Task.FromResult(Results(keys.Select(k => (k, Status(k)))));
        });
        var (sample, _) = await RunAsync(api, Settings);

        sample.Accepted.ShouldBe(DueRequests * Settings.Batch);
        sample.Duplicates.ShouldBe(1);
    }

    [Fact]
    public async Task a_shed_request_is_counted_and_nothing_is_re_sent()
    {
        var api = new FakeApi(_ =>
        {
            var shed = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("""{"error":{"code":"rate_limited","message":"slow down"}}""") };
            shed.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
            return Task.FromResult(shed);
        });
        var (sample, _) = await RunAsync(api, Settings);

        // Every request sent was shed and none was sent again. How many left within the schedule depends on the machine's
        // timer on a busy box (one due at 900 ms may leave after the 950 ms schedule ends): at least one, at most all due.
        sample.RequestsSent.ShouldBeInRange(1, DueRequests);
        sample.ShedRequests.ShouldBe(sample.RequestsSent);
        api.Keys.Distinct().Count().ShouldBe(api.Keys.Count);
        sample.Accepted.ShouldBe(0);
        double.IsNaN(sample.IngestP99Ms).ShouldBeTrue();
    }

    [Fact]
    public async Task a_request_due_while_every_connection_is_busy_is_not_sent()
    {
        using var never = new CancellationTokenSource();
        var api = new FakeApi(async _ =>
        {
            await Task.Delay(Timeout.Infinite, never.Token);
            throw new InvalidOperationException("unreachable");
        });
        var (sample, load) = await RunAsync(api, Settings with { Connections = 2 }, drain: false);

        sample.RequestsSent.ShouldBe(2);
        sample.RequestsNotSent.ShouldBe(DueRequests - 2);
        load.InFlight.ShouldBe(2);
        await never.CancelAsync();
    }
}
