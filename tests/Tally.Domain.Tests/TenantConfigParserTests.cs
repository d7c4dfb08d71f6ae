using System.Text.Json;
using Shouldly;
using Tally.Domain.Config;
using Xunit;

namespace Tally.Domain.Tests;

public class TenantConfigParserTests
{
    private static (TenantConfig? Config, ValidationError? Error) Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var config = TenantConfigParser.Parse(doc.RootElement, out var error);
        if (config is not null && error is null) error = TenantConfigValidator.Validate(config);
        return (error is null ? config : null, error);
    }

    [Fact]
    public void a_full_config_parses_with_every_section()
    {
        var (config, error) = Parse("""
            {"time_zone": "Europe/Berlin", "measures": {"sales": {"min": 0}, "units": {}, "answered": {}, "correct": {}},
             "dimensions": ["country", "question"],
             "leaderboards": {"measures": ["sales"], "scopes": ["global"], "periods": ["all_time", "month"], "snapshot_top": 100},
             "rollups": {"scopes": ["global", "question"], "periods": ["all_time"]},
             "ratios": {"accuracy": {"numerator": "correct", "denominator": "answered"}},
             "checkpoint": {"measure": "sales", "months": 4, "downgrade": "recompute", "grace_days": 3,
                            "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 1000}]},
             "retention": {"raw_events_months": 12, "raw_events_days": 90, "dedup_days": 7},
             "board_shards": 2}
            """);
        error.ShouldBeNull();
        config!.Ratios!["accuracy"].Denominator.ShouldBe("answered");
        config.Checkpoint!.Downgrade.ShouldBe("recompute");
        config.Checkpoint.GraceDays.ShouldBe(3);
        config.Retention.RawEventsDays.ShouldBe(90);
        config.BoardShards.ShouldBe(2);
    }

    [Theory]
    [InlineData("""{"measures": {"m": {}}, "leaderbords": {}}""", "unknown_field", "leaderbords")]
    [InlineData("""{"measures": {"m": {"mn": 0}}}""", "unknown_field", "measures.m.mn")]
    [InlineData("""{"measures": {"m": {}}, "leaderboards": {"measures": null}}""", "invalid_type", "leaderboards.measures")]
    [InlineData("""{"measures": {"m": {}}, "leaderboards": {"measures": ["m"], "scopes": null}}""", "invalid_type", "leaderboards.scopes")]
    [InlineData("""{"measures": {"m": {}}, "leaderboards": {"measures": ["m"], "periods": [null]}}""", "invalid_type", "leaderboards.periods[0]")]
    [InlineData("""{"measures": {"m": {}}, "leaderboards": {"scopes": ["global"]}}""", "missing_field", "leaderboards.measures")]
    [InlineData("""{"measures": null}""", "invalid_type", "measures")]
    [InlineData("""{"measures": {"m": null}}""", "invalid_type", "measures.m")]
    [InlineData("""{"measures": {"m": {}}, "dimensions": null}""", "invalid_type", "dimensions")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": null}}""", "invalid_type", "checkpoint.tiers")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": [null]}}""", "invalid_type", "checkpoint.tiers[0]")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": [{"name": "a"}]}}""", "missing_field", "checkpoint.tiers[0].threshold")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": [{"name": "a", "threshold": 0}], "downgrade": "two"}}""", "invalid_value", "checkpoint.downgrade")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": [{"name": "a", "threshold": 0}], "grace_days": 32}}""", "out_of_range", "checkpoint.grace_days")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": []}}""", "out_of_range", "checkpoint.tiers")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": [{"name": "a", "threshold": 5}, {"name": "a", "threshold": 6}]}}""", "duplicate_name", "checkpoint.tiers[1].name")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": [{"name": "a", "threshold": 5}, {"name": "b", "threshold": 5}]}}""", "invalid_config", "checkpoint.tiers[1].threshold")]
    [InlineData("""{"measures": {"m": {}}, "ratios": {"r": {"numerator": "m"}}}""", "missing_field", "ratios.r.denominator")]
    [InlineData("""{"measures": {"m": {}}, "ratios": {"r": {"numerator": "m", "denominator": "x"}}}""", "unknown_measure", "ratios.r.denominator")]
    [InlineData("""{"measures": {"m": {}}, "ratios": {"R": {"numerator": "m", "denominator": "m"}}}""", "invalid_name", "ratios.R")]
    [InlineData("""{"measures": {"m": {"max": 1e13}}}""", "out_of_range", "measures.m.max")]
    [InlineData("""{"measures": {"m": {"min": "0"}}}""", "invalid_type", "measures.m.min")]
    [InlineData("""{"measures": {"m": {}}, "board_shards": 2.5}""", "invalid_type", "board_shards")]
    [InlineData("""{"measures": {"m": {}}, "retention": {"raw_events_days": 0}}""", "out_of_range", "retention.raw_events_days")]
    [InlineData("""{"measures": {"m": {}}, "time_zone": "a\u0000b"}""", "invalid_string", "time_zone")]
    [InlineData("""{"measures": {"m": {}}, "time_zone": "\ud800"}""", "invalid_string", "time_zone")]
    [InlineData("""{"measures": {"m": {}}, "dimensions": ["topic"], "breakdowns": ["topik"]}""", "unknown_dimension", "breakdowns[0]")]
    [InlineData("""{"measures": {"m": {}}, "dimensions": ["topic"], "breakdowns": ["topic", "topic"]}""", "duplicate_name", "breakdowns[1]")]
    [InlineData("""{"measures": {"m": {}}, "dimensions": ["a", "b", "c", "d", "e"], "breakdowns": ["a", "b", "c", "d", "e"]}""", "out_of_range", "breakdowns")]
    [InlineData("""{"measures": {"m": {}}, "dimensions": ["topic"], "breakdowns": "topic"}""", "invalid_type", "breakdowns")]
    [InlineData("""[1]""", "invalid_config", null)]
    public void a_bad_config_is_an_error_naming_the_field(string json, string code, string? field)
    {
        var (config, error) = Parse(json);
        config.ShouldBeNull();
        error.ShouldNotBeNull();
        error.Code.ShouldBe(code);
        error.Field.ShouldBe(field);
    }

    [Fact]
    public void null_optional_sections_mean_none()
    {
        var (config, error) = Parse("""{"measures": {"m": {}}, "leaderboards": null, "checkpoint": null, "ratios": null, "retention": null}""");
        error.ShouldBeNull();
        config!.Leaderboards.ShouldBeNull();
        config.Checkpoint.ShouldBeNull();
        config.Retention.ShouldBe(new RetentionConfig());
    }

    [Fact]
    public void the_stored_form_reads_back_equal()
    {
        var (config, _) = Parse("""{"measures": {"m": {"min": 0}}, "checkpoint": {"measure": "m", "tiers": [{"name": "a", "threshold": 0}]}}""");
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(config));
        var again = TenantConfigParser.Parse(doc.RootElement, out var error);
        error.ShouldBeNull();
        JsonSerializer.Serialize(again).ShouldBe(JsonSerializer.Serialize(config));
    }
}
