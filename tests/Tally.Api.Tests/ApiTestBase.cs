using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Tally.Api.Tests;

public abstract class ApiTestBase(ApiFixture fixture)
{
    protected ApiFixture Fixture { get; } = fixture;

    protected static JsonObject Event(string user, string key, decimal co2 = 1.5m, string at = "2025-11-22T10:00:00Z", string action = "bike") => new()
    {
        ["user_id"] = user,
        ["action"] = action,
        ["measures"] = new JsonObject { ["co2_saved_kg"] = co2 },
        ["occurred_at"] = at,
        ["idempotency_key"] = key,
    };

    protected static JsonObject Batch(params JsonNode[] events) => new() { ["events"] = new JsonArray(events) };

    protected async Task<(int Status, JsonObject Body)> Post(string key, JsonNode body, HttpClient? via = null)
    {
        var response = await Fixture.Send(HttpMethod.Post, "/v1/events", key, body, via);
        return ((int)response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    protected async Task<(int Status, JsonObject? Body)> Get(string? key, string path, HttpClient? via = null)
    {
        var response = await Fixture.Send(HttpMethod.Get, path, key, via: via);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }
}
