using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>An agent (over its socket) or the operator (over HTTP) sends a message.</summary>
public static class SendMessage
{
    public const int MaxBodyBytes = 1024;

    public sealed record Command(string From, string? To, string? Body) : IRequest<MessageView>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(c => c.To).Cascade(CascadeMode.Stop)
                .NotEmpty().WithMessage("to is required")
                .KnownRecipient(agents);
            RuleFor(c => c.To)
                .NotEqual(AgentNames.Operator).When(c => c.From == AgentNames.Operator)
                .WithMessage("the operator cannot message itself");
            RuleFor(c => c.Body).BoundedText("body", MaxBodyBytes);
        }

    }

    internal sealed class Handler(
        MessageWriter writer,
        InboxSignals signals,
        StateChangeGate gate,
        IMediator mediator,
        IFileRefScanner fileRefs,
        TimeProvider clock) : IRequestHandler<Command, MessageView>
    {
        public async Task<MessageView> Handle(Command command, CancellationToken cancellationToken)
        {
            MessageView message;
            using (await gate.EnterChangeAsync(cancellationToken))
            {
                var draft = new MessageWriter.Draft(command.From, command.To!, MessageKinds.Message, command.Body!, clock.GetUtcNow());
                // Once queued the message will commit; wait for that regardless of the caller going away, so the
                // event is never lost for a stored message.
                var row = await writer.AppendAsync(draft);
                message = row.View(fileRefs);
                await mediator.Publish(new MessageSent(message), CancellationToken.None);
            }
            signals.Notify(message.To);
            return message;
        }
    }
}
