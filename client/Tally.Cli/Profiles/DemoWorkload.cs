using System.Globalization;
using System.Text.Json.Nodes;

namespace Tally.Cli.Profiles;

/// <summary>
/// Realistic synthetic events for a profile: each user's behaviour comes from a random generator seeded by the
/// profile and the user's number, and each event's idempotency key names its user, day and position, so the same
/// command line makes the same events (a rerun within the dedup window adds nothing). Day 0 is today, back to
/// day <c>days - 1</c>; times fall before <paramref name="now"/>.
/// </summary>
internal static class DemoWorkload
{
    /// <summary>The learning profile's topics: question n belongs to topic n mod 5.</summary>
    private static readonly string[] Topics = ["anatomy", "cardiology", "neurology", "pharmacology", "physiology"];

    private static readonly string[] Countries = ["US", "US", "US", "DE", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "NL"];
    private static readonly (string Action, double Kg)[] ClimateActions =
        [("bike_commute", 2.6), ("public_transport", 1.8), ("plant_based_meal", 1.5), ("recycling", 0.4), ("led_bulb", 0.2), ("line_drying", 0.9)];
    private static readonly (string Type, double Weight)[] AppEvents = [("page_view", 0.6), ("click", 0.25), ("purchase", 0.1), ("signup", 0.05)];
    private static readonly string[] Pages = ["/", "/pricing", "/docs", "/blog", "/signup", "/cart", "/checkout"];

    public static string UserId(string profile, int n) => profile switch
    {
        "climate" => $"user_{n:D5}",
        "learning" => $"learner_{n:D5}",
        "loyalty" => $"creator_{n:D5}",
        _ => $"visitor_{n:D5}",
    };

    /// <summary>Every user's events, user by user (users 1..<paramref name="users"/>).</summary>
    public static IEnumerable<JsonObject> Events(string profile, int users, int days, DateTimeOffset now)
    {
        for (var n = 1; n <= users; n++)
        {
            var rng = new Random(HashCode(profile) * 7919 + n); // seeded Random is the same sequence on every run
            var user = UserId(profile, n);
            foreach (var e in ForUser(profile, user, rng, days, now)) yield return e;
        }
    }

    private static IEnumerable<JsonObject> ForUser(string profile, string user, Random rng, int days, DateTimeOffset now)
    {
        var activity = 0.2 + 0.6 * rng.NextDouble();
        var country = Countries[rng.Next(Countries.Length)];
        var org = $"org_{rng.Next(1, 21):D2}";
        var skill = 0.45 + 0.5 * rng.NextDouble();
        var scale = new[] { 0.5, 1, 1, 2, 5, 12 }[rng.Next(6)];
        for (var d = days - 1; d >= 0; d--)
        {
            if (rng.NextDouble() >= activity) continue;
            var count = profile switch { "learning" => rng.Next(3, 11), "analytics" or "events_log" => rng.Next(1, 7), "loyalty" => rng.Next(1, 3), _ => rng.Next(1, 4) };
            // Spread over the day before now, in order: minutes back from now - d days.
            var minutes = Enumerable.Range(0, count).Select(_ => rng.Next(1, 1440)).OrderDescending().ToArray();
            for (var i = 0; i < count; i++)
            {
                var at = now.AddDays(-d).AddMinutes(-minutes[i]);
                var e = new JsonObject
                {
                    ["user_id"] = user,
                    ["occurred_at"] = at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    ["idempotency_key"] = $"demo-{profile}-{user}-d{d}-{i}",
                };
                switch (profile)
                {
                    case "climate":
                        var (action, kg) = ClimateActions[rng.Next(ClimateActions.Length)];
                        var quantity = rng.Next(1, 4);
                        e["action"] = action;
                        e["measures"] = new JsonObject { ["co2_saved_kg"] = Math.Round((decimal)(kg * quantity * (0.7 + 0.6 * rng.NextDouble())), 3) };
                        e["dims"] = new JsonObject { ["country"] = country, ["org"] = org };
                        e["payload"] = new JsonObject { ["quantity"] = quantity };
                        break;
                    case "learning":
                        var correct = rng.NextDouble() < skill ? 1 : 0;
                        e["action"] = "answer";
                        e["measures"] = new JsonObject { ["answered"] = 1, ["correct"] = correct };
                        var question = rng.Next(1, 51);
                        e["dims"] = new JsonObject { ["question"] = $"q{question}", ["topic"] = Topics[question % Topics.Length] };
                        break;
                    case "loyalty":
                        var units = rng.Next(1, 6);
                        e["action"] = "sale";
                        e["measures"] = new JsonObject { ["sales"] = Math.Round((decimal)(units * (10 + 40 * rng.NextDouble()) * scale), 2), ["units"] = units };
                        e["dims"] = new JsonObject { ["country"] = country };
                        break;
                    default: // analytics, events_log
                        var type = Pick(rng, AppEvents);
                        e["action"] = type;
                        e["measures"] = new JsonObject { ["events"] = 1 };
                        e["dims"] = new JsonObject { ["event_type"] = type };
                        e["payload"] = new JsonObject
                        {
                            ["path"] = Pages[rng.Next(Pages.Length)],
                            ["session"] = $"s{rng.Next(1_000_000):D6}",
                            ["user_agent"] = rng.Next(3) == 0 ? "Mozilla/5.0 (iPhone)" : "Mozilla/5.0 (X11; Linux x86_64)",
                        };
                        break;
                }
                yield return e;
            }
        }
    }

    private static string Pick(Random rng, (string Value, double Weight)[] choices)
    {
        var x = rng.NextDouble();
        foreach (var (value, weight) in choices)
            if ((x -= weight) < 0) return value;
        return choices[^1].Value;
    }

    // string.GetHashCode differs between processes; this one does not.
    private static int HashCode(string text)
    {
        var h = 17;
        foreach (var c in text) h = unchecked(h * 31 + c);
        return h & 0xFFFF;
    }
}
