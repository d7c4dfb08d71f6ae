using System.Text.Json;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Xunit;

namespace Tally.Domain.Tests;

public class EventValidatorTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2025-11-22T12:00:00Z");

    private static readonly TenantConfig Config = new()
    {
        TimeZone = "Europe/Berlin",
        Measures = new() { ["co2_saved_kg"] = new MeasureRule { Min = 0, Max = 100 }, ["sales"] = new MeasureRule() },
        Dimensions = ["country", "org"],
    };

    private static JsonObject Good() => new()
    {
        ["user_id"] = "u1",
        ["action"] = "bike.ride:eco-1",
        ["measures"] = new JsonObject { ["co2_saved_kg"] = 1.25 },
        ["dims"] = new JsonObject { ["country"] = "US" },
        ["occurred_at"] = "2025-11-22T10:00:00+01:00",
        ["idempotency_key"] = "k1",
    };

    private static (ValidEvent? Event, ValidationError? Error) Run(JsonNode node)
    {
        using var doc = JsonDocument.Parse(node.ToJsonString());
        var e = EventValidator.Validate(doc.RootElement, 3, Config, Now, out var error);
        return (e, error);
    }

    [Fact]
    public void a_good_event_passes_with_exact_decimals()
    {
        var (e, error) = Run(Good());
        error.ShouldBeNull();
        e!.Measures.Single().Value.ShouldBe(1.25m);
        e.OccurredAt.ShouldBe(DateTimeOffset.Parse("2025-11-22T09:00:00Z"));
    }

    public static TheoryData<string, string, string, string> BadValues => new()
    {
        // field to set (json path relative to event), raw JSON value ("<remove>" deletes), expected code, expected field
        { "user_id", "<remove>", "missing_field", "events[3].user_id" },
        { "user_id", "\"\"", "invalid_length", "events[3].user_id" },
        { "user_id", "42", "invalid_type", "events[3].user_id" },
        { "user_id", "\"" + new string('u', 129) + "\"", "invalid_length", "events[3].user_id" },
        { "action", "<remove>", "missing_field", "events[3].action" },
        { "action", "\"has space\"", "invalid_format", "events[3].action" },
        { "action", "\"" + new string('a', 65) + "\"", "invalid_length", "events[3].action" },
        { "measures", "<remove>", "missing_field", "events[3].measures" },
        { "measures", "{}", "missing_field", "events[3].measures" },
        { "measures", "[1]", "invalid_type", "events[3].measures" },
        { "measures", "{\"unknown\": 1}", "unknown_measure", "events[3].measures.unknown" },
        { "measures", "{\"co2_saved_kg\": \"1\"}", "invalid_type", "events[3].measures.co2_saved_kg" },
        { "measures", "{\"co2_saved_kg\": 1e400}", "invalid_number", "events[3].measures.co2_saved_kg" },
        { "measures", "{\"co2_saved_kg\": 100.0001}", "measure_out_of_range", "events[3].measures.co2_saved_kg" },
        { "measures", "{\"co2_saved_kg\": -0.5}", "measure_out_of_range", "events[3].measures.co2_saved_kg" },
        { "dims", "{\"planet\": \"earth\"}", "unknown_dimension", "events[3].dims.planet" },
        { "dims", "{\"org\": 7}", "invalid_type", "events[3].dims.org" },
        { "dims", "{\"org\": \"" + new string('o', 129) + "\"}", "invalid_length", "events[3].dims.org" },
        { "dims", "{\"country\": \"USA\"}", "invalid_country", "events[3].dims.country" },
        { "dims", "{\"country\": \"us\"}", "invalid_country", "events[3].dims.country" },
        { "dims", "[]", "invalid_type", "events[3].dims" },
        { "occurred_at", "<remove>", "missing_field", "events[3].occurred_at" },
        { "occurred_at", "\"2025-11-22 10:00:00\"", "invalid_timestamp", "events[3].occurred_at" },
        { "occurred_at", "\"2025-11-22T10:00:00\"", "invalid_timestamp", "events[3].occurred_at" },
        { "occurred_at", "\"2025-13-01T00:00:00Z\"", "invalid_timestamp", "events[3].occurred_at" },
        { "occurred_at", "1732270000", "invalid_type", "events[3].occurred_at" },
        { "occurred_at", "\"2025-11-22T13:00:01Z\"", "occurred_at_in_future", "events[3].occurred_at" },
        { "occurred_at", "\"2023-11-22T11:59:59Z\"", "occurred_at_too_old", "events[3].occurred_at" },
        { "idempotency_key", "<remove>", "missing_field", "events[3].idempotency_key" },
        { "idempotency_key", "\"\"", "invalid_length", "events[3].idempotency_key" },
        { "idempotency_key", "\"" + new string('k', 129) + "\"", "invalid_length", "events[3].idempotency_key" },
        { "payload", "{\"blob\": \"" + new string('x', 16 * 1024) + "\"}", "payload_too_large", "events[3].payload" },
        // Strings the log cannot store: NUL and unpaired surrogates, wherever they are.
        { "user_id", "\"a\\u0000b\"", "invalid_string", "events[3].user_id" },
        { "user_id", "\"a\\ud800b\"", "invalid_string", "events[3].user_id" },
        { "idempotency_key", "\"k\\u0000\"", "invalid_string", "events[3].idempotency_key" },
        { "idempotency_key", "\"\\udc00\"", "invalid_string", "events[3].idempotency_key" },
        { "dims", "{\"org\": \"o\\u0000\"}", "invalid_string", "events[3].dims.org" },
        { "dims", "{\"org\\ud800\": \"o\"}", "unknown_dimension", "events[3].dims.org\\ud800" },
        { "measures", "{\"co2_saved_kg\\u0000\": 1}", "unknown_measure", "events[3].measures.co2_saved_kg\\u0000" },
        { "payload", "{\"x\": \"a\\u0000b\"}", "invalid_payload", "events[3].payload.x" },
        { "payload", "{\"x\": [1, {\"y\": \"\\ud800\"}]}", "invalid_payload", "events[3].payload.x[1].y" },
        { "payload", "{\"a\\u0000\": 1}", "invalid_payload", "events[3].payload" },
        { "payload", "\"\\udfff\"", "invalid_payload", "events[3].payload" },
        { "payload", "{\"n\": 1e1000000}", "invalid_payload", "events[3].payload.n" },
        { "occurred_at", "\"2025-11-22T10:00:00\\u0000Z\"", "invalid_timestamp", "events[3].occurred_at" },
        // A measure without a max is still bounded, so no sum can overflow.
        { "measures", "{\"sales\": 1000000000001}", "measure_out_of_range", "events[3].measures.sales" },
        { "measures", "{\"sales\": -1000000000001}", "measure_out_of_range", "events[3].measures.sales" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void each_rule_names_its_code_and_field(string field, string rawValue, string code, string path)
    {
        var e = Good();
        // The raw value is spliced in as text: some (lone surrogate escapes) cannot pass through JsonNode.
        if (rawValue == "<remove>") e.Remove(field);
        else e[field] = "__raw__";
        using var doc = JsonDocument.Parse(e.ToJsonString().Replace("\"__raw__\"", rawValue));
        var ok = EventValidator.Validate(doc.RootElement, 3, Config, Now, out var error);
        ok.ShouldBeNull();
        error.ShouldNotBeNull();
        error.Code.ShouldBe(code);
        error.Field.ShouldBe(path);
    }

    [Fact]
    public void boundaries_are_inclusive()
    {
        var e = Good();
        e["measures"] = new JsonObject { ["co2_saved_kg"] = 100 };
        e["occurred_at"] = "2025-11-22T13:00:00Z";
        e["user_id"] = new string('u', 128);
        Run(e).Error.ShouldBeNull();
    }

    [Fact]
    public void a_non_object_event_is_rejected() =>
        Run(JsonValue.Create(5)!).Error!.Field.ShouldBe("events[3]");
}
