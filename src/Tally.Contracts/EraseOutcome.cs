namespace Tally.Contracts;

/// <summary>What removing a user did (<see cref="IUserGrain.Erase"/>).</summary>
public enum EraseOutcome : byte
{
    /// <summary>The user has no events (never had, or was removed before): nothing to remove.</summary>
    NotFound,

    /// <summary>The user is out of every board, rollup and summary; the log keeps the events.</summary>
    Erased,

    /// <summary>This activation was superseded (its silo was taken for dead): nothing changed; call again.</summary>
    Moved,
}
