using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace Tally.Api.Tests;

[Collection(ApiCollection.Name)]
public class EventsTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task a_mixed_batch_answers_each_event_in_request_order()
    {
        var t = await Fixture.CreateTenantAsync();
        var (status, body) = await Post(t.IngestKey, Batch(
            Event("u1", "k1"), Event("u1", "k1"), Event("u2", "k3", co2: -1m), Event("u3", "k4")));
        status.ShouldBe(200);
        body["accepted"]!.GetValue<int>().ShouldBe(2);
        body["duplicates"]!.GetValue<int>().ShouldBe(1);
        body["rejected"]!.GetValue<int>().ShouldBe(1);
        var results = body["results"]!.AsArray();
        results.Select(r => (string)r!["status"]!).ShouldBe(["accepted", "duplicate", "rejected", "accepted"]);
        results.Select(r => (string)r!["idempotency_key"]!).ShouldBe(["k1", "k1", "k3", "k4"]);
        results[2]!["error"]!["code"]!.GetValue<string>().ShouldBe("measure_out_of_range");
        results[2]!["error"]!["field"]!.GetValue<string>().ShouldBe("events[2].measures.co2_saved_kg");
        // The rejected event changed nothing.
        (await Get(t.ReadKey, "/v1/users/u2/stats")).Status.ShouldBe(404);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(2);
    }

    [Fact]
    public async Task a_single_event_object_is_accepted()
    {
        var t = await Fixture.CreateTenantAsync();
        var (status, body) = await Post(t.IngestKey, Event("u1", "single"));
        status.ShouldBe(200);
        body["accepted"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public async Task a_retried_batch_is_all_duplicates_and_changes_nothing()
    {
        var t = await Fixture.CreateTenantAsync();
        var batch = Batch(Event("u1", "r1", 2m), Event("u1", "r2", 3m));
        (await Post(t.IngestKey, batch)).Body["accepted"]!.GetValue<int>().ShouldBe(2);
        var (_, again) = await Post(t.IngestKey, batch.DeepClone());
        again["duplicates"]!.GetValue<int>().ShouldBe(2);
        var (_, stats) = await Get(t.ReadKey, "/v1/users/u1/stats");
        stats!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(5m);
    }

    [Theory]
    [InlineData("[]", "invalid_body", null)]
    [InlineData("[{\"user_id\":\"u\"}]", "invalid_body", null)]
    [InlineData("{\"events\": {}}", "invalid_body", "events")]
    [InlineData("{\"events\": []}", "invalid_body", "events")]
    [InlineData("{\"events\": [1,", "invalid_json", null)]
    [InlineData("not json", "invalid_json", null)]
    [InlineData("\"text\"", "invalid_body", null)]
    public async Task a_bad_body_shape_is_400_and_changes_nothing(string body, string code, string? field)
    {
        var t = await Fixture.CreateTenantAsync();
        var response = await Fixture.SendRaw(HttpMethod.Post, "/v1/events", t.IngestKey, body);
        ((int)response.StatusCode).ShouldBe(400);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        error["code"]!.GetValue<string>().ShouldBe(code);
        (error["field"]?.GetValue<string>()).ShouldBe(field); // absent when no single field is at fault
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(0);
    }

    [Fact]
    public async Task more_than_10000_events_is_400()
    {
        var t = await Fixture.CreateTenantAsync();
        var events = new JsonArray();
        for (var i = 0; i < 10_001; i++) events.Add(new JsonObject { ["user_id"] = "u" });
        var (status, body) = await Post(t.IngestKey, new JsonObject { ["events"] = events });
        status.ShouldBe(400);
        body["error"]!["code"]!.GetValue<string>().ShouldBe("too_many_events");
    }

    [Fact]
    public async Task a_body_over_the_limit_is_413()
    {
        var t = await Fixture.CreateTenantAsync();
        var huge = "{\"events\": [{\"user_id\": \"" + new string('x', (int)ApiFixture.MaxBodyBytes + 10) + "\"}]}";
        var response = await Fixture.SendRaw(HttpMethod.Post, "/v1/events", t.IngestKey, huge);
        ((int)response.StatusCode).ShouldBe(413);
    }

    [Theory]
    [InlineData("user_id", "null", "missing_field", "events[1].user_id")]
    [InlineData("action", "\"bad action\"", "invalid_format", "events[1].action")]
    [InlineData("measures", "{\"nope\": 1}", "unknown_measure", "events[1].measures.nope")]
    [InlineData("measures", "{\"co2_saved_kg\": 100001}", "measure_out_of_range", "events[1].measures.co2_saved_kg")]
    [InlineData("dims", "{\"country\": \"XX\"}", "invalid_country", "events[1].dims.country")]
    [InlineData("dims", "{\"city\": \"Paris\"}", "unknown_dimension", "events[1].dims.city")]
    [InlineData("occurred_at", "\"2025-11-22T13:30:00Z\"", "occurred_at_in_future", "events[1].occurred_at")]
    [InlineData("occurred_at", "\"2020-01-01T00:00:00Z\"", "occurred_at_too_old", "events[1].occurred_at")]
    [InlineData("occurred_at", "\"yesterday\"", "invalid_timestamp", "events[1].occurred_at")]
    [InlineData("idempotency_key", "\"\"", "invalid_length", "events[1].idempotency_key")]
    public async Task a_bad_field_rejects_only_its_event(string field, string raw, string code, string path)
    {
        var t = await Fixture.CreateTenantAsync();
        var bad = Event("u2", "bad");
        bad[field] = JsonNode.Parse(raw);
        var (status, body) = await Post(t.IngestKey, Batch(Event("u1", "good"), bad, Event("u1", "good2")));
        status.ShouldBe(200);
        body["accepted"]!.GetValue<int>().ShouldBe(2);
        var error = body["results"]![1]!["error"]!;
        error["code"]!.GetValue<string>().ShouldBe(code);
        error["field"]!.GetValue<string>().ShouldBe(path);
    }
}
