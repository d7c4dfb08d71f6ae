namespace Tally.Domain.Time;

/// <summary>
/// Business time: "now" for the event time window and "today" for tenant periods. Kept apart from
/// the runtime's <see cref="TimeProvider"/> so tests can set business time (any hour, any day)
/// without freezing Orleans' own timers.
/// </summary>
public sealed class TallyClock(TimeProvider time)
{
    public static readonly TallyClock System = new(TimeProvider.System);

    public DateTimeOffset UtcNow => time.GetUtcNow();
}
