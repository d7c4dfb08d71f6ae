using Orleans.Serialization.Cloning;
using Tally.Domain.Events;

namespace Tally.Contracts;

/// <summary>
/// Events are never changed after validation, so a call inside a silo hands the same instance on
/// instead of copying every event's arrays (Orleans copies arguments of local calls unless told).
/// </summary>
[RegisterCopier]
public sealed class ValidEventCopier : IDeepCopier<ValidEvent>
{
    public ValidEvent? DeepCopy(ValidEvent? input, CopyContext context) => input;
}
