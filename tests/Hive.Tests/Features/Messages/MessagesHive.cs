using Hive.Contracts.Messages;

namespace Hive.Tests.Features.Messages;

/// <summary>The one hive the Messages slice tests share; its classes run one after another, each test on agents of its own.</summary>
[CollectionDefinition(Name)]
public sealed class MessagesHive : ICollectionFixture<HiveFixture>
{
    public const string Name = "Messages";

    /// <summary>Receives one message and acknowledges it at once: its record, or null when none arrived in time.</summary>
    public static async Task<MessageView?> RecvAndAckAsync(AgentClient agent, int waitMs = 0)
    {
        var message = await agent.RecvMessageAsync(waitMs);
        if (message is not null) await agent.AckAsync(message.Id);
        return message;
    }
}
