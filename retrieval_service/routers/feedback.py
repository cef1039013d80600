"""POST /feedback: the trainer reports mean reward per arm; aggregated and shown in GET /versions, once per
(run_id, step), so the client may retry it safely."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from shared.contract import Feedback

from retrieval_service.dependencies import StateDep

router = APIRouter(tags=["feedback"])


@router.post("/feedback")
async def feedback(body: Feedback, state: StateDep) -> dict:
    try:
        counted = state.feedback.add(body.rewards, body.counts, run_id=body.run_id, step=body.step)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    # a repeat of a counted (run_id, step) is a retry: acknowledged, not counted again
    return {"accepted": len(body.rewards) if counted else 0, "duplicate": not counted,
            "feedback": state.feedback.summary()}
