using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Tally.Client;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>The .NET client (src/Tally.Client) against the test API: typed events and reads, errors with the field
/// path, and the idempotent retry when an answer is lost.</summary>
[Collection(ApiCollection.Name)]
public class DotNetClientTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private TallyClient Client(string key, string? url = null) => TallyClient.Create(new TallyClientOptions
    {
        BaseAddress = new Uri(url ?? Fixture.Http.BaseAddress!.ToString()), ApiKey = key, BatchSize = 2, RetryDelay = TimeSpan.FromMilliseconds(50),
    });

    private static TallyEvent Bike(string user, decimal kg, string at = "2025-11-22T10:00:00Z") => new()
    {
        UserId = user, Action = "bike", Measures = new Dictionary<string, decimal> { ["co2_saved_kg"] = kg },
        Dims = new Dictionary<string, string> { ["country"] = "DE" }, OccurredAt = DateTimeOffset.Parse(at),
    };

    [Fact]
    public async Task events_go_in_batches_and_typed_reads_answer_what_they_hold()
    {
        var t = await Fixture.CreateTenantAsync();
        var ingest = Client(t.IngestKey);
        var events = new[] { Bike("ada", 2.5m), Bike("ada", 1.25m), Bike("bob", 3m), Bike("bob", 99_999_999m) };

        var sent = await ingest.IngestAsync(events);

        (sent.Accepted, sent.Duplicates, sent.Rejected, sent.Retry).ShouldBe((3, 0, 1, 0), "two requests of two events");
        (sent.Requests, sent.Refused).ShouldBe((2, 0));
        sent.Results.Select(r => r.Id).ShouldBe(events.Select(e => e.IdempotencyKey));
        sent.Results[3].Error!.Field.ShouldBe("events[3].measures.co2_saved_kg", "the field path within the caller's list, not its request");
        (await ingest.IngestAsync(events.Take(3))).Duplicates.ShouldBe(3, "the same events keep their keys");

        var read = Client(t.ReadKey);
        var ada = (await read.GetStatsAsync("ada"))!;
        ada.Measures["co2_saved_kg"]["all_time"].ShouldBe(3.75m);
        ada.Actions.ShouldBe(2);
        ada.Streak.Current.ShouldBeGreaterThanOrEqualTo(0);
        (await read.GetStatsAsync("nobody")).ShouldBeNull();

        var board = await Eventually.WaitFor(() => read.GetLeaderboardAsync("co2_saved_kg"), b => b.Members == 2, TimeSpan.FromSeconds(10), "both users on the board");
        board.Entries.Select(e => (e.Rank, e.UserId, e.Score)).ShouldBe([(1L, "ada", 3.75m), (2L, "bob", 3m)]);
        (await read.GetAroundAsync("co2_saved_kg", "bob", around: 1))!.Rank.ShouldBe(2);
        var rollup = await Eventually.WaitFor(() => read.GetRollupAsync("co2_saved_kg"), r => r.Total == 6.75m, TimeSpan.FromSeconds(10), "the rollup");
        (rollup.Users, rollup.Actions).ShouldBe((2L, 3L));
        (await read.GetGoalsAsync("nobody")).ShouldBeNull();
        (await read.GetChangesAsync()).Changes.ShouldBeEmpty();
    }

    [Fact]
    public async Task a_refused_request_is_a_typed_error_with_the_code_and_field()
    {
        var t = await Fixture.CreateTenantAsync();
        var read = Client(t.ReadKey);
        var error = await Should.ThrowAsync<TallyApiException>(() => read.GetLeaderboardAsync("co2_saved_kg", limit: 5000));
        error.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        error.Error.Field.ShouldBe("limit");
        (await Should.ThrowAsync<TallyApiException>(() => read.IngestAsync([Bike("ada", 1m)]))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task a_lost_answer_is_retried_with_the_same_keys_and_applied_once_through_the_http_client_factory()
    {
        var t = await Fixture.CreateTenantAsync();
        await using var proxy = await new LossyProxy(Fixture.Http).StartAsync();
        var services = new ServiceCollection();
        services.AddTallyClient(o =>
        {
            o.BaseAddress = new Uri(proxy.Url);
            o.ApiKey = t.IngestKey;
            o.RetryDelay = TimeSpan.FromMilliseconds(50);
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<TallyClient>();
        proxy.LoseAnswers = 1;

        var sent = await client.IngestAsync([Bike("cleo", 2m), Bike("cleo", 0.5m)]);

        sent.Duplicates.ShouldBe(2, "the first attempt was stored, its answer lost; the retry found both keys");
        var bodies = proxy.PostBodies.Select(b => JsonNode.Parse(b)!["events"]!.AsArray().Select(e => (string)e!["idempotency_key"]!).ToList()).ToList();
        bodies.Count.ShouldBe(2);
        bodies[1].ShouldBe(bodies[0], "the retry carries the same keys");
        var stats = await Get(t.ReadKey, "/v1/users/cleo/stats");
        stats.Body!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(2.5m, "applied once");
    }

    [Fact]
    public async Task raw_events_without_an_id_get_one_before_the_first_attempt()
    {
        var t = await Fixture.CreateTenantAsync(new JsonObject
        {
            ["time_zone"] = "UTC", ["measures"] = new JsonObject { ["events"] = new JsonObject { ["min"] = 0 } },
        });
        await using var proxy = await new LossyProxy(Fixture.Http).StartAsync();
        proxy.LoseAnswers = 1;
        var client = Client(t.IngestKey, proxy.Url);

        var sent = await client.CollectAsync([new JsonObject { ["event_type"] = "page_view", ["timestamp"] = "2025-11-22T10:00:00Z", ["visitor_id"] = "v1" }]);

        sent.Duplicates.ShouldBe(1);
        Guid.TryParse(sent.Results[0].Id, out var _).ShouldBeTrue();
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(1);
    }

    /// <summary>Answers the first request as given, every later one with each event accepted; keeps every body.</summary>
    private sealed class RefusingOnce(Func<HttpResponseMessage> first) : HttpMessageHandler
    {
        public readonly List<string> Bodies = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var body = await request.Content!.ReadAsStringAsync(ct);
            lock (Bodies) Bodies.Add(body);
            if (Bodies.Count == 1) return first();
            var results = new JsonArray(JsonNode.Parse(body)!["events"]!.AsArray().Select(_ => (JsonNode)new JsonObject { ["status"] = "accepted" }).ToArray());
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(new JsonObject { ["results"] = results }.ToJsonString()) };
        }
    }

    [Fact]
    public async Task a_request_refused_with_retry_after_is_sent_again_with_the_same_body_and_counted()
    {
        var api = new RefusingOnce(() =>
        {
            var refused = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("""{"error":{"code":"rate_limited","message":"slow down"}}""") };
            refused.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromMilliseconds(10));
            return refused;
        });
        using var client = new TallyClient(new HttpClient(api), Microsoft.Extensions.Options.Options.Create(new TallyClientOptions { BaseAddress = new Uri("http://tally.test"), ApiKey = "k" }));

        var sent = await client.IngestAsync([Bike("ada", 1.10m), Bike("bob", 2m)]);

        (sent.Accepted, sent.Requests, sent.Refused).ShouldBe((2, 2, 1));
        api.Bodies[1].ShouldBe(api.Bodies[0], "the same events, keys and values");
        ((JsonValue)JsonNode.Parse(api.Bodies[0])!["events"]![0]!["measures"]!["co2_saved_kg"]!).ToJsonString().ShouldBe("1.10", "a decimal goes as written");
    }

    [Fact]
    public async Task with_one_attempt_a_refused_request_hands_every_event_back_as_retry()
    {
        var api = new RefusingOnce(() => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("""{"error":{"code":"overloaded","message":"busy"}}""") });
        using var client = new TallyClient(new HttpClient(api), Microsoft.Extensions.Options.Options.Create(new TallyClientOptions
        {
            BaseAddress = new Uri("http://tally.test"), ApiKey = "k", MaxAttempts = 1,
        }));

        var sent = await client.IngestAsync([Bike("ada", 1m)]);

        (sent.Retry, sent.Requests, sent.Refused).ShouldBe((1, 1, 1));
        sent.Results[0].Error!.Code.ShouldBe("overloaded");
        api.Bodies.Count.ShouldBe(1);
    }
}
