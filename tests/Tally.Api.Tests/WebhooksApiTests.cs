using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Domain.Webhooks;
using Tally.Testing;
using Xunit;
using static Tally.Api.Tests.ChangesApiTests;

namespace Tally.Api.Tests;

/// <summary>Webhooks over HTTP with a real receiver on loopback (API.md, "Changes and webhooks"). The retry schedule runs
/// on business time, which these tests move: they have a cluster of their own (<see cref="WebhookCollection"/>).</summary>
[Collection(WebhookCollection.Name)]
public class WebhooksApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static readonly TimeSpan Delivered = TimeSpan.FromSeconds(20);

    private async Task<JsonObject> Register(TestTenant t, string url, params string[] kinds)
    {
        var body = new JsonObject { ["url"] = url };
        if (kinds.Length > 0) body["kinds"] = new JsonArray(kinds.Select(k => (JsonNode)k).ToArray());
        var response = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{t.Id}/webhooks", t.AdminKey, body);
        ((int)response.StatusCode).ShouldBe(201, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>The tenant's feed once it holds <paramref name="count"/> changes.</summary>
    private async Task<List<JsonObject>> FeedAsync(TestTenant t, int count)
    {
        var (_, feed) = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/changes"), r => r.Body!["changes"]!.AsArray().Count >= count, Delivered, $"{count} changes");
        var changes = feed!["changes"]!.AsArray().Select(c => c!.AsObject()).ToList();
        changes.Count.ShouldBe(count);
        return changes;
    }

    /// <summary>Each delivery verifies with the contract's scheme and the secret shown at registration.</summary>
    private static void ShouldBeSigned(WebhookReceiver.Delivery d, string secret)
    {
        WebhookSignature.Verify(secret, d.Id, long.Parse(d.Timestamp), d.Body, d.Signature).ShouldBeTrue(d.Body);
        JsonNode.Parse(d.Body)!["id"]!.GetValue<string>().ShouldBe(d.Id);
    }

    [Fact]
    public async Task changes_arrive_signed_in_order_and_equal_to_the_feed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        var hook = await Register(t, receiver.Url, "tier_changed", "goal_completed");
        hook["state"]!.GetValue<string>().ShouldBe("active");
        var secret = hook["secret"]!.GetValue<string>();
        secret.ShouldStartWith("whsec_");
        hook["kinds"]!.AsArray().Select(k => (string)k!).ShouldBe(["tier_changed", "goal_completed"]);

        (await Post(t.IngestKey, Batch(Sale("ana", "a1", "2025-11-03T10:00:00Z", 400), Sale("ana", "a2", "2025-11-04T10:00:00Z", 700)))).Status.ShouldBe(200);
        // Entered, two mission levels, the month badge, promoted (completions are recorded just after the ack).
        var expected = (await FeedAsync(t, 5)).Select(c => c.ToJsonString()).ToList();
        await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count), n => n >= expected.Count, Delivered, "every change delivered");
        var got = receiver.Deliveries.ToList();
        got.Select(d => JsonNode.Parse(d.Body)!.ToJsonString()).ShouldBe(expected);
        foreach (var d in got) ShouldBeSigned(d, secret);

        // The list shows it without its secret; its deliveries log the attempts.
        var (_, list) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}/webhooks");
        list!["webhooks"]![0]!["webhook_id"]!.GetValue<string>().ShouldBe(hook["webhook_id"]!.GetValue<string>());
        list.ToJsonString().ShouldNotContain("whsec_");
        var (_, log) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}/webhooks/{hook["webhook_id"]}/deliveries");
        var attempts = log!["deliveries"]!.AsArray();
        attempts.Count.ShouldBe(expected.Count);
        attempts[0]!["status"]!.GetValue<int>().ShouldBe(200);
        attempts[0]!["attempt"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public async Task a_receiver_that_fails_gets_the_same_change_again_on_schedule_and_the_rest_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = n => n < 3 ? 500 : 200; // the first three attempts fail
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        var hook = await Register(t, receiver.Url);
        (await Post(t.IngestKey, Batch(Sale("ben", "b1", "2025-11-03T10:00:00Z", 120), Sale("ben", "b2", "2025-11-05T10:00:00Z", 250)))).Status.ShouldBe(200);
        var ids = (await FeedAsync(t, 3)).Select(c => c["id"]!.GetValue<string>()).ToList(); // entered, the month badge, a mission level

        // Each failure schedules the next attempt (5 s, 30 s, 2 min): business time moves on while we wait for it.
        await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count), n => n >= 1, Delivered, "the first attempt");
        foreach (var wait in new[] { 5, 30, 120 })
        {
            var before = receiver.Deliveries.Count;
            await Eventually.WaitFor(() =>
            {
                Fixture.Clock.Advance(TimeSpan.FromSeconds(wait / 4.0));
                return Task.FromResult(receiver.Deliveries.Count);
            }, n => n > before, Delivered, $"the attempt {wait} s after a failure");
        }
        await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count(d => d.Status == 200)), n => n == ids.Count, Delivered, "the rest delivered");
        var got = receiver.Deliveries.ToList();
        // The same change four times, with a stable id, and nothing else while it was not acknowledged.
        got.Take(4).Select(d => d.Id).ShouldAllBe(id => id == ids[0]);
        got.Where(d => d.Status == 200).Select(d => d.Id).ShouldBe(ids);
        var (_, log) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}/webhooks/{hook["webhook_id"]}/deliveries?limit=50");
        log!["deliveries"]!.AsArray().Reverse().Take(4).Select(d => ((int)d!["attempt"]!, (int?)d["status"])).ShouldBe([(1, 500), (2, 500), (3, 500), (4, 200)]);
    }

    [Fact]
    public async Task a_day_without_acknowledgement_disables_it_and_enable_resumes_from_the_first_unacknowledged_change()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => 503;
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        var hook = await Register(t, receiver.Url);
        var id = hook["webhook_id"]!.GetValue<string>();
        (await Post(t.IngestKey, Batch(Sale("cy", "c1", "2025-11-03T10:00:00Z", 120)))).Status.ShouldBe(200);
        await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count), n => n >= 1, Delivered, "a first attempt");
        // The clock moves only once the deliverer has logged the attempt the receiver saw: it dates the next attempt from
        // the clock it read before logging, so a move made while it still waited for the answer would postpone it forever.
        async Task AttemptsLogged()
        {
            var seen = receiver.Deliveries.Count;
            await Eventually.WaitFor(() => Get(t.AdminKey, $"/v1/tenants/{t.Id}/webhooks/{id}/deliveries?limit=100"),
                r => r.Body!["deliveries"]!.AsArray().Count >= seen, Delivered, $"{seen} attempts logged");
        }
        // Hourly attempts for more than a day.
        for (var hour = 0; hour < 26; hour++)
        {
            await AttemptsLogged();
            // Counted before the clock moves: the attempt it makes due may come before the next line runs.
            var before = receiver.Deliveries.Count;
            Fixture.Clock.Advance(TimeSpan.FromHours(1));
            var (_, list) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}/webhooks");
            if (list!["webhooks"]![0]!["state"]!.GetValue<string>() == "disabled") break;
            await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count), n => n > before, Delivered, $"attempt after {hour + 1} h");
        }
        var (_, disabled) = await Eventually.WaitFor(() => Get(t.AdminKey, $"/v1/tenants/{t.Id}/webhooks"),
            r => r.Body!["webhooks"]![0]!["state"]!.GetValue<string>() == "disabled", Delivered, "disabled after 24 h");
        var attempts = receiver.Deliveries.Count;
        Fixture.Clock.Advance(TimeSpan.FromHours(2));
        await Task.Delay(1000); // a disabled webhook sends nothing (a second is ten polls)
        receiver.Deliveries.Count.ShouldBe(attempts);

        receiver.Answer = _ => 200;
        var enable = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{t.Id}/webhooks/{id}/enable", t.AdminKey);
        ((int)enable.StatusCode).ShouldBe(200);
        var ids = (await FeedAsync(t, 2)).Select(c => c["id"]!.GetValue<string>()).ToList(); // entered, the month badge
        await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count(d => d.Status == 200)), n => n == ids.Count, Delivered, "resumed");
        receiver.Deliveries.Where(d => d.Status == 200).Select(d => d.Id).ShouldBe(ids);
    }

    [Fact]
    public async Task a_new_webhook_gets_only_changes_recorded_after_it_and_only_its_kinds()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        (await Post(t.IngestKey, Batch(Sale("dee", "d1", "2025-11-03T10:00:00Z", 120)))).Status.ShouldBe(200);
        await Register(t, receiver.Url, "user_removed");
        (await Post(t.IngestKey, Batch(Sale("dee", "d2", "2025-11-04T10:00:00Z", 900)))).Status.ShouldBe(200);
        ((int)(await Fixture.Send(HttpMethod.Delete, "/v1/users/dee", t.AdminKey)).StatusCode).ShouldBe(204);
        await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count), n => n >= 1, Delivered, "the removal delivered");
        await Task.Delay(500);
        receiver.Deliveries.Select(d => JsonNode.Parse(d.Body)!["kind"]!.GetValue<string>()).ShouldBe(["user_removed"]);
    }

    [Fact]
    public async Task delete_stops_deliveries_and_bad_or_private_urls_are_refused_naming_the_field()
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        await using var receiver = await WebhookReceiver.StartAsync();
        var hook = await Register(t, receiver.Url);
        ((int)(await Fixture.Send(HttpMethod.Delete, $"/v1/tenants/{t.Id}/webhooks/{hook["webhook_id"]}", t.AdminKey)).StatusCode).ShouldBe(204);
        ((int)(await Fixture.Send(HttpMethod.Delete, $"/v1/tenants/{t.Id}/webhooks/{hook["webhook_id"]}", t.AdminKey)).StatusCode).ShouldBe(404);
        (await Post(t.IngestKey, Batch(Sale("eve", "e1", "2025-11-03T10:00:00Z", 120)))).Status.ShouldBe(200);
        await Task.Delay(600);
        receiver.Deliveries.ShouldBeEmpty();

        async Task<(int, string?)> Try(HttpClient via, string body)
        {
            var response = await Fixture.SendRaw(HttpMethod.Post, $"/v1/tenants/{t.Id}/webhooks", t.AdminKey, body, via);
            var text = await response.Content.ReadAsStringAsync();
            return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text)?["error"]?["field"]?.GetValue<string>());
        }
        (await Try(Fixture.Http, """{"url": "ftp://example.com/x"}""")).ShouldBe((400, "url"));
        (await Try(Fixture.Http, """{"url": "not a url"}""")).ShouldBe((400, "url"));
        (await Try(Fixture.Http, """{"kinds": ["tier_changed"]}""")).ShouldBe((400, "url"));
        (await Try(Fixture.Http, """{"url": "http://example.com/x", "kinds": ["nope"]}""")).ShouldBe((400, "kinds[0]"));
        (await Try(Fixture.Http, """{"url": "http://example.com/x", "kinds": []}""")).ShouldBe((400, "kinds"));
        (await Try(Fixture.Http, """{"url": "http://example.com/x", "secret": "mine"}""")).ShouldBe((400, "secret"));
        // Without the operator's leave, loopback, private and link-local hosts are refused.
        var strict = await Fixture.StartExtraApiAsync(new() { ["Tally:Webhooks:AllowPrivateTargets"] = "false" });
        foreach (var url in new[] { "http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x", "http://localhost/x", "http://192.168.0.1/x" })
            (await Try(strict, $$"""{"url": "{{url}}"}""")).ShouldBe((400, "url"), url);
        // Another tenant's admin key cannot see or change this tenant's webhooks.
        var other = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        ((int)(await Fixture.Send(HttpMethod.Get, $"/v1/tenants/{t.Id}/webhooks", other.AdminKey)).StatusCode).ShouldBe(403);
        ((int)(await Fixture.Send(HttpMethod.Get, $"/v1/tenants/{t.Id}/webhooks", t.ReadKey)).StatusCode).ShouldBe(403);
    }
}

/// <summary>A cluster of its own for the webhook tests, whose business clock they move.</summary>
[CollectionDefinition(Name)]
public sealed class WebhookCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "webhooks";
}
