using System.Text.Json.Nodes;

namespace Tally.Cli.Profiles;

/// <summary>
/// One seed system ready to run: its tenant config (<c>deploy/profiles/NAME.json</c>, shipped inside the tool), the
/// demo's default span, and requests that show what the system's users read.
/// </summary>
internal sealed record SeedProfile(string Name, string Summary, int DefaultDays, Func<string, string[]> ExampleRequests)
{
    /// <summary>A fresh copy of the profile's tenant config.</summary>
    public JsonObject Config()
    {
        using var stream = typeof(SeedProfile).Assembly.GetManifestResourceStream($"profiles/{Name}.json")
            ?? throw new InvalidOperationException($"The profile '{Name}' is not built into this tool.");
        return JsonNode.Parse(stream)!.AsObject();
    }

    /// <summary>How far back events may be dated: the profile's raw retention, in days (a month counted short, as 28).</summary>
    public int RetentionDays()
    {
        var retention = Config()["retention"];
        return retention?["raw_events_days"] is { } days ? (int)days : 28 * (int)(retention?["raw_events_months"] ?? 24);
    }
}
