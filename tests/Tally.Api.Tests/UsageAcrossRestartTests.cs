using System.Globalization;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>Usage equals what the API answered, duplicates and rejections included, across a silo restart: requests
/// answered 503 while the silo is away are retried with the same keys and count once, as accepted or duplicate.
/// Its own fixture: restarting the silo would disturb the shared one.</summary>
[Collection(ApiCollection.Name)] // run alone, not beside the shared fixture's tests
public class UsageAcrossRestartTests : IAsyncLifetime
{
    private readonly ApiFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task usage_equals_the_answers_across_a_silo_restart()
    {
        var tenant = await _fixture.CreateTenantAsync();
        long accepted = 0, duplicate = 0, rejected = 0;
        async Task SendAsync(int batch)
        {
            var events = new JsonArray();
            for (var i = 0; i < 10; i++)
                events.Add(new JsonObject
                {
                    ["user_id"] = $"u{i % 4}", ["action"] = "bike", ["idempotency_key"] = $"b{batch % 6}-{i}",
                    ["occurred_at"] = "2025-11-22T10:00:00Z",
                    ["measures"] = new JsonObject { ["co2_saved_kg"] = i == 9 ? -1 : 1.25 },
                });
            // Retried with the same keys until answered 200 (the silo may be away).
            var body = await Eventually.WaitFor(async () =>
                {
                    var response = await _fixture.Send(HttpMethod.Post, "/v1/events", tenant.IngestKey, new JsonObject { ["events"] = events });
                    return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
                }, r => r.Item1 == 200, TimeSpan.FromSeconds(90), "the batch to be answered 200");
            accepted += (long)body.Item2!["accepted"]!;
            duplicate += (long)body.Item2["duplicates"]!;
            rejected += (long)body.Item2["rejected"]!;
        }
        for (var b = 0; b < 8; b++) await SendAsync(b); // batches 6 and 7 repeat 0 and 1: duplicates
        await _fixture.RestartSiloAsync();
        for (var b = 8; b < 12; b++) await SendAsync(b);

        (accepted, duplicate, rejected).ShouldBe((54L, 54L, 12L), "6 distinct batches of 9 valid events; 6 repeats; one invalid event per batch");
        var month = _fixture.Clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var key = tenant.ReadKey;
        await Eventually.WaitFor(() => Usage(key, month), u => u == (accepted, duplicate, rejected), TimeSpan.FromSeconds(15),
            $"usage to equal the answers ({accepted} accepted, {duplicate} duplicate, {rejected} rejected)");
    }

    private async Task<(long, long, long)> Usage(string key, string month)
    {
        var response = await _fixture.Send(HttpMethod.Get, $"/v1/usage?month={month}", key);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return ((long)body["events_accepted"]!, (long)body["events_duplicate"]!, (long)body["events_rejected"]!);
    }
}
