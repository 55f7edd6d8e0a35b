namespace Hive.Shared.Limits;

/// <summary>
/// Who a signed-in request counts as for per-client caps (the event streams), set by the host's sign-in middleware:
/// <c>session:&lt;id&gt;</c> for one sign-in session (its cookie), <c>bearer</c> for every caller with the token (scripts
/// all present the same token, and on loopback the remote end point tells nothing). Absent when sign-in is off.
/// </summary>
public sealed class OperatorClient(string name)
{
    public const string Bearer = "bearer";

    public string Name { get; } = name;

    public static OperatorClient Session(string id) => new("session:" + id);
}
