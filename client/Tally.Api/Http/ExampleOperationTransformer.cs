using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Tally.Api.Http;

/// <summary>
/// Gives every request in the OpenAPI document an example: each path and query parameter by its name, each request
/// body by its operation. A generated client's docs and the reference page (/docs) then show a request that works.
/// </summary>
internal sealed class ExampleOperationTransformer : IOpenApiOperationTransformer
{
    private static readonly Dictionary<string, JsonNode> Parameters = new(StringComparer.Ordinal)
    {
        ["tenant_id"] = "acme", ["key_id"] = "k_2f9c1a7e", ["webhook_id"] = "wh_5d1e7c", ["user_id"] = "u1",
        ["measure"] = "co2_saved_kg", ["ratio"] = "accuracy", ["goal_id"] = "co2_month", ["dimension"] = "topic",
        ["rollup_key"] = "global_2025-11", ["scope"] = "country:US", ["period"] = "month", ["key"] = "2025-11",
        ["offset"] = 0, ["limit"] = 100, ["around"] = 5, ["at"] = "2025-10-01", ["month"] = "2026-11", ["day"] = "2026-12-06",
        ["by"] = "site", ["after"] = "0000000000000042", ["kinds"] = "tier_changed,goal_completed", ["wait"] = 20,
        ["sort"] = "ratio:accuracy", ["min_denominator"] = 5, ["min"] = 0.4, ["max"] = 0.7, ["order"] = "desc",
    };

    private static readonly Dictionary<string, string> Bodies = new(StringComparer.Ordinal)
    {
        ["PostEvents"] = """
            {"events": [{"user_id": "u1", "action": "bike_commute", "measures": {"co2_saved_kg": 2.6},
              "dims": {"country": "US", "org": "org_12"}, "occurred_at": "2025-11-22T08:15:00Z",
              "idempotency_key": "3f1c2b9e-2d41-4f5e-9a57-0c8e3b6d7a10", "payload": {"quantity": 1}}]}
            """,
        ["Collect"] = """
            {"eventType": "batch", "events": [{"event_id": "6b0f6e1c-62a4-4a39-9a52-2f1a9d3c8e77", "event_type": "page_view",
              "timestamp": "2026-12-06T10:00:00Z", "site_id": "shop.example", "session_id": "s-81f2", "visitor_id": "v-5521",
              "url": "https://shop.example/products/kettle", "data": {"title": "Kettle"}}]}
            """,
        ["PutTenant"] = """
            {"time_zone": "Europe/Berlin", "measures": {"co2_saved_kg": {"min": 0, "max": 100000}}, "dimensions": ["country", "org"],
             "leaderboards": {"measures": ["co2_saved_kg"], "scopes": ["global", "country"], "periods": ["all_time", "month"]},
             "rollups": {"scopes": ["global", "country"], "periods": ["all_time", "year", "month", "day"]},
             "retention": {"raw_events_months": 24, "dedup_days": 7}}
            """,
        ["PatchTenant"] = """{"changes": {"keep_days": 14}}""",
        ["CreateKey"] = """{"role": "read"}""",
        ["ReshardTenant"] = """{"board_shards": 8}""",
        ["CreateWebhook"] = """{"url": "https://hooks.example.com/tally", "kinds": ["tier_changed", "goal_completed"]}""",
    };

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        foreach (var parameter in operation.Parameters ?? [])
            if (parameter is OpenApiParameter p && p.Name is { } name && Parameters.TryGetValue(name, out var example))
                p.Example = example.DeepClone();
        if (operation.RequestBody?.Content is { } content && operation.OperationId is { } id && Bodies.TryGetValue(id, out var body))
            foreach (var media in content.Values)
                if (media is OpenApiMediaType m) m.Example = JsonNode.Parse(body);
        return Task.CompletedTask;
    }
}
