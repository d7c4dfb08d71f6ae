using Tally.Domain.Events;
using Tally.Domain.Stats;

namespace Tally.Testing;

/// <summary>Builds validated events for tests that talk to grains directly.</summary>
public static class TestEvents
{
    public static ValidEvent Make(string user, string key, DateTimeOffset at, (string Name, decimal Value)[] measures,
        (string Name, string Value)[]? dims = null, string action = "ride") =>
        new(user, action, at, key,
            measures.Select(m => new MeasureValue(m.Name, m.Value)).ToArray(),
            (dims ?? []).Select(d => new DimValue(d.Name, d.Value)).ToArray(),
            null);
}
