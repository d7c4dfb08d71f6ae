using System.Text.Json;

namespace Tally.Domain.Config;

/// <summary>
/// Reads a tenant config from JSON strictly: an unknown field (a typo like <c>leaderbords</c>), a wrong
/// type or a null where a value is required is an error naming the field by its path
/// (<c>leaderboards.measures[0]</c>). A null optional section (<c>"checkpoint": null</c>) means "none".
/// Semantic rules (declared names, ranges) are <see cref="TenantConfigValidator"/>'s.
/// </summary>
public static class TenantConfigParser
{
    public static TenantConfig? Parse(JsonElement root, out ValidationError? error)
    {
        error = null;
        try
        {
            return ReadConfig(root);
        }
        catch (ConfigException ex)
        {
            error = ex.Error;
            return null;
        }
    }

    private sealed class ConfigException(ValidationError error) : Exception(error.Message)
    {
        public ValidationError Error { get; } = error;
    }

    private static ConfigException Invalid(string code, string message, string field) =>
        new(new ValidationError(code, message, field.Length == 0 ? null : field));

    private static TenantConfig ReadConfig(JsonElement root)
    {
        var config = new TenantConfig();
        foreach (var (name, value, path) in Fields(root, "", "The tenant config must be a JSON object.",
                     "time_zone", "measures", "dimensions", "breakdowns", "leaderboards", "rollups", "ratios", "checkpoint", "goals", "retention", "changes", "collect", "billing", "export", "board_shards"))
        {
            config = name switch
            {
                "time_zone" => config with { TimeZone = String(value, path) },
                "measures" => config with { Measures = Map(value, path, ReadMeasure) },
                "dimensions" => config with { Dimensions = Strings(value, path) },
                "breakdowns" => config with { Breakdowns = IsNull(value) ? null : Strings(value, path) },
                "leaderboards" => config with { Leaderboards = IsNull(value) ? null : ReadLeaderboards(value, path) },
                "rollups" => config with { Rollups = IsNull(value) ? null : ReadRollups(value, path) },
                "ratios" => config with { Ratios = IsNull(value) ? null : Map(value, path, ReadRatio) },
                "checkpoint" => config with { Checkpoint = IsNull(value) ? null : ReadCheckpoint(value, path) },
                "goals" => config with { Goals = IsNull(value) ? null : Map(value, path, ReadGoal) },
                "retention" => config with { Retention = IsNull(value) ? new RetentionConfig() : ReadRetention(value, path) },
                "changes" => config with { Changes = IsNull(value) ? new ChangesConfig() : ReadChanges(value, path) },
                "collect" => config with { Collect = IsNull(value) ? null : ReadCollect(value, path) },
                "billing" => config with { Billing = IsNull(value) ? null : ReadBilling(value, path) },
                "export" => config with { Export = IsNull(value) ? null : ReadExport(value, path) },
                _ => config with { BoardShards = Int(value, path) },
            };
        }
        return config;
    }

    private static MeasureRule ReadMeasure(JsonElement value, string path)
    {
        var rule = new MeasureRule();
        foreach (var (name, v, p) in Fields(value, path, "A measure is an object with optional min and max, e.g. {\"min\": 0}.", "min", "max"))
            rule = name == "min" ? rule with { Min = IsNull(v) ? null : Decimal(v, p) } : rule with { Max = IsNull(v) ? null : Decimal(v, p) };
        return rule;
    }

    private static LeaderboardConfig ReadLeaderboards(JsonElement value, string path)
    {
        var boards = new LeaderboardConfig();
        var sawMeasures = false;
        foreach (var (name, v, p) in Fields(value, path, "leaderboards must be an object.", "measures", "scopes", "periods", "snapshot_top"))
        {
            switch (name)
            {
                case "measures": boards = boards with { Measures = Strings(v, p) }; sawMeasures = true; break;
                case "scopes": boards = boards with { Scopes = Strings(v, p) }; break;
                case "periods": boards = boards with { Periods = Strings(v, p) }; break;
                default: boards = boards with { SnapshotTop = Int(v, p) }; break;
            }
        }
        if (!sawMeasures) throw Invalid("missing_field", "leaderboards.measures is required: the measures to rank.", Join(path, "measures"));
        return boards;
    }

    private static RollupConfig ReadRollups(JsonElement value, string path)
    {
        var rollups = new RollupConfig();
        foreach (var (name, v, p) in Fields(value, path, "rollups must be an object.", "scopes", "periods"))
            rollups = name == "scopes" ? rollups with { Scopes = Strings(v, p) } : rollups with { Periods = Strings(v, p) };
        return rollups;
    }

    private static RatioConfig ReadRatio(JsonElement value, string path)
    {
        string? numerator = null, denominator = null;
        foreach (var (name, v, p) in Fields(value, path, "A ratio is an object {\"numerator\": measure, \"denominator\": measure}.", "numerator", "denominator"))
        {
            if (name == "numerator") numerator = String(v, p);
            else denominator = String(v, p);
        }
        if (numerator is null) throw Invalid("missing_field", "numerator is required.", Join(path, "numerator"));
        if (denominator is null) throw Invalid("missing_field", "denominator is required.", Join(path, "denominator"));
        return new RatioConfig { Numerator = numerator, Denominator = denominator };
    }

    private static CheckpointConfig ReadCheckpoint(JsonElement value, string path)
    {
        var checkpoint = new CheckpointConfig();
        bool sawMeasure = false, sawTiers = false;
        foreach (var (name, v, p) in Fields(value, path, "checkpoint must be an object.", "measure", "months", "downgrade", "grace_days", "tiers"))
        {
            switch (name)
            {
                case "measure": checkpoint = checkpoint with { Measure = String(v, p) }; sawMeasure = true; break;
                case "months": checkpoint = checkpoint with { Months = Int(v, p) }; break;
                case "downgrade": checkpoint = checkpoint with { Downgrade = String(v, p) }; break;
                case "grace_days": checkpoint = checkpoint with { GraceDays = Int(v, p) }; break;
                default: checkpoint = checkpoint with { Tiers = List(v, p, ReadTier) }; sawTiers = true; break;
            }
        }
        if (!sawMeasure) throw Invalid("missing_field", "checkpoint.measure is required.", Join(path, "measure"));
        if (!sawTiers) throw Invalid("missing_field", "checkpoint.tiers is required.", Join(path, "tiers"));
        return checkpoint;
    }

    private static GoalConfig ReadGoal(JsonElement value, string path)
    {
        var goal = new GoalConfig();
        var sawTargets = false;
        foreach (var (name, v, p) in Fields(value, path, "A goal is an object with one of measure, ratio or streak, and targets.",
                     "title", "measure", "of", "ratio", "streak", "window", "targets", "min_denominator"))
        {
            goal = name switch
            {
                "title" => goal with { Title = String(v, p) },
                "measure" => goal with { Measure = String(v, p) },
                "of" => goal with { Of = String(v, p) },
                "ratio" => goal with { Ratio = String(v, p) },
                "streak" => goal with { Streak = Bool(v, p) },
                "window" => goal with { Window = String(v, p) },
                "targets" => goal with { Targets = List(v, p, Decimal) },
                _ => goal with { MinDenominator = Decimal(v, p) },
            };
            sawTargets |= name == "targets";
        }
        if (!sawTargets) throw Invalid("missing_field", "targets is required: 1 to 10 increasing numbers, one per level.", Join(path, "targets"));
        return goal;
    }

    private static TierConfig ReadTier(JsonElement value, string path)
    {
        string? name = null;
        decimal? threshold = null;
        foreach (var (field, v, p) in Fields(value, path, "A tier is an object {\"name\": ..., \"threshold\": number}.", "name", "threshold"))
        {
            if (field == "name") name = String(v, p);
            else threshold = Decimal(v, p);
        }
        if (name is null) throw Invalid("missing_field", "A tier needs a name.", Join(path, "name"));
        if (threshold is null) throw Invalid("missing_field", "A tier needs a threshold.", Join(path, "threshold"));
        return new TierConfig { Name = name, Threshold = threshold.Value };
    }

    private static RetentionConfig ReadRetention(JsonElement value, string path)
    {
        var retention = new RetentionConfig();
        foreach (var (name, v, p) in Fields(value, path, "retention must be an object.", "raw_events_months", "raw_events_days", "dedup_days"))
        {
            retention = name switch
            {
                "raw_events_months" => retention with { RawEventsMonths = Int(v, p) },
                "raw_events_days" => retention with { RawEventsDays = IsNull(v) ? null : Int(v, p) },
                _ => retention with { DedupDays = Int(v, p) },
            };
        }
        return retention;
    }

    private static ChangesConfig ReadChanges(JsonElement value, string path)
    {
        var changes = new ChangesConfig();
        foreach (var (_, v, p) in Fields(value, path, "changes must be an object, e.g. {\"keep_days\": 7}.", "keep_days"))
            changes = changes with { KeepDays = Int(v, p) };
        return changes;
    }

    private static ExportConfig ReadExport(JsonElement value, string path)
    {
        var export = new ExportConfig();
        var sawSink = false;
        foreach (var (name, v, p) in Fields(value, path, "export must be an object, e.g. {\"every_minutes\": 60, \"sink\": {\"type\": \"directory\", \"path\": \"acme\"}}.",
                     "every_minutes", "delay_minutes", "keep_hours", "sink", "backup_sink"))
        {
            export = name switch
            {
                "every_minutes" => export with { EveryMinutes = Int(v, p) },
                "delay_minutes" => export with { DelayMinutes = Int(v, p) },
                "keep_hours" => export with { KeepHours = Int(v, p) },
                "sink" => export with { Sink = ReadSink(v, p) },
                _ => export with { BackupSink = IsNull(v) ? null : ReadSink(v, p) },
            };
            sawSink |= name == "sink";
        }
        if (!sawSink) throw Invalid("missing_field", "sink is required, e.g. {\"type\": \"directory\", \"path\": \"acme\"}.", path + ".sink");
        return export;
    }

    private static ExportSink ReadSink(JsonElement value, string path)
    {
        var sink = new ExportSink();
        foreach (var (name, v, p) in Fields(value, path, "A sink is an object: {\"type\": \"directory\", \"path\": ...} or {\"type\": \"s3\", \"bucket\": ...}.",
                     "type", "path", "bucket", "prefix", "credentials"))
        {
            var text = String(v, p);
            sink = name switch
            {
                "type" => sink with { Type = text },
                "path" => sink with { Path = text },
                "bucket" => sink with { Bucket = text },
                "prefix" => sink with { Prefix = text },
                _ => sink with { Credentials = text },
            };
        }
        return sink;
    }

    private static BillingConfig ReadBilling(JsonElement value, string path)
    {
        var billing = new BillingConfig();
        var priced = false;
        foreach (var (name, v, p) in Fields(value, path, "billing must be an object, e.g. {\"price_per_1000_events\": 0.01, \"currency\": \"USD\"}.",
                     "price_per_1000_events", "currency"))
        {
            if (name == "currency") billing = billing with { Currency = String(v, p) };
            else
            {
                billing = billing with { PricePer1000Events = Decimal(v, p) };
                priced = true;
            }
        }
        if (!priced) throw Invalid("missing_field", "price_per_1000_events is required.", path + ".price_per_1000_events");
        return billing;
    }

    private static CollectConfig ReadCollect(JsonElement value, string path)
    {
        var collect = new CollectConfig();
        foreach (var (name, v, p) in Fields(value, path, "collect must be an object, e.g. {\"allowed_origins\": [\"https://shop.example\"], \"ip\": \"truncated\"}.",
                     "allowed_origins", "ip"))
            collect = name == "ip" ? collect with { Ip = String(v, p) } : collect with { AllowedOrigins = Strings(v, p) };
        return collect;
    }

    /// <summary>The fields of an object, each checked against the allowed names; nulls are passed on for the caller to judge.</summary>
    private static IEnumerable<(string Name, JsonElement Value, string Path)> Fields(JsonElement value, string path, string notAnObject, params string[] allowed)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(path.Length == 0 ? "invalid_config" : "invalid_type", notAnObject, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var fields = new List<(string, JsonElement, string)>();
        foreach (var property in value.EnumerateObject())
        {
            if (!JsonText.TryGetName(property, out var name))
                throw Invalid("invalid_name", "A field name holds a NUL character or an unpaired surrogate.", path);
            var fieldPath = Join(path, name);
            if (Array.IndexOf(allowed, name) < 0)
                throw Invalid("unknown_field", $"'{JsonText.Printable(name)}' is not a field here; expected one of: {string.Join(", ", allowed)}.", fieldPath);
            if (!seen.Add(name))
                throw Invalid("duplicate_field", $"'{name}' appears twice.", fieldPath);
            fields.Add((name, property.Value, fieldPath));
        }
        return fields;
    }

    private static Dictionary<string, T> Map<T>(JsonElement value, string path, Func<JsonElement, string, T> read)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Invalid("invalid_type", $"{Leaf(path)} must be an object.", path);
        var map = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (!JsonText.TryGetName(property, out var name))
                throw Invalid("invalid_name", "A name holds a NUL character or an unpaired surrogate.", path);
            var itemPath = Join(path, name);
            if (!map.TryAdd(name, read(property.Value, itemPath)))
                throw Invalid("duplicate_name", $"'{name}' appears twice.", itemPath);
        }
        return map;
    }

    private static List<T> List<T>(JsonElement value, string path, Func<JsonElement, string, T> read)
    {
        if (value.ValueKind != JsonValueKind.Array) throw Invalid("invalid_type", $"{Leaf(path)} must be an array.", path);
        var list = new List<T>(value.GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray()) list.Add(read(item, $"{path}[{i++}]"));
        return list;
    }

    private static List<string> Strings(JsonElement value, string path) => List(value, path, String);

    private static string String(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.String) throw Invalid("invalid_type", $"{Leaf(path)} must be a string.", path);
        if (!JsonText.TryGetString(value, out var text))
            throw Invalid("invalid_string", $"{Leaf(path)} holds a NUL character or an unpaired surrogate.", path);
        return text;
    }

    private static bool Bool(JsonElement value, string path)
    {
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Invalid("invalid_type", $"{Leaf(path)} must be true or false.", path);
        return value.GetBoolean();
    }

    private static int Int(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
            throw Invalid("invalid_type", $"{Leaf(path)} must be a whole number.", path);
        return number;
    }

    private static decimal Decimal(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Number) throw Invalid("invalid_type", $"{Leaf(path)} must be a number.", path);
        if (!value.TryGetDecimal(out var number))
            throw Invalid("out_of_range", $"{Leaf(path)} is outside ±{MeasureBounds.MaxAbsValue:0}.", path);
        return number;
    }

    private static bool IsNull(JsonElement value) => value.ValueKind == JsonValueKind.Null;

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private static string Leaf(string path) => path.Length == 0 ? "value" : path;
}
