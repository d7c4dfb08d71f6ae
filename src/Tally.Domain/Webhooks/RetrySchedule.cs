namespace Tally.Domain.Webhooks;

/// <summary>When a failed delivery is tried again (API.md): about 5 s, 30 s, 2 min, 10 min, 1 h after the failures in turn,
/// then every hour; a webhook that has not been acknowledged for <see cref="GiveUpAfter"/> is disabled.</summary>
public static class RetrySchedule
{
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromHours(24);

    private static readonly TimeSpan[] Delays =
        [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), TimeSpan.FromHours(1)];

    /// <summary>The wait after the <paramref name="failures"/>-th failed attempt (1-based) of one change.</summary>
    public static TimeSpan After(int failures) => Delays[Math.Clamp(failures, 1, Delays.Length) - 1];
}
