using System.Diagnostics;

namespace Tally.Grains.Boards;

/// <summary>
/// Spreads a long background job over time so it takes at most a share of the machine while it runs: after each piece
/// of work the job rests in proportion to how long that piece took (at 50%, as long again). Ingest and reads then find
/// the cores, the database and the grains free half the time instead of waiting out the whole job.
/// </summary>
internal sealed class DutyCycle(int percent)
{
    private long _pieceStarted = Stopwatch.GetTimestamp();

    /// <summary>How long the job has rested so far.</summary>
    public TimeSpan Rested { get; private set; }

    /// <summary>Ends a piece of work: rests for its share, then starts timing the next piece.</summary>
    public async Task RestAsync(CancellationToken ct)
    {
        if (percent < 100)
        {
            var rest = Stopwatch.GetElapsedTime(_pieceStarted) * ((100.0 - percent) / percent);
            if (rest >= TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(rest, ct);
                Rested += rest;
            }
        }
        _pieceStarted = Stopwatch.GetTimestamp();
    }
}
