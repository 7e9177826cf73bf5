"""The incidents of an account: opening them, moving them along, and the log entries that record it.

Every assignment notifies its assignees as their notification rules for the
incident's urgency say: a `notify_log_entry` for each rule, at the assignment
plus the rule's delay (delayed ones only if that moment has come).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from runner.sandbox.catalog import Catalog
from runner.sandbox.objects import SANDBOX_BASE_URL, Obj, object_id, parse_time, reference, secret, timestamp

# How long after it was opened an incident reached its status.
_STATUS_DELAYS = {
    "triggered": timedelta(0),
    "acknowledged": timedelta(minutes=5),
    "resolved": timedelta(hours=1),
}
INCIDENT_STATUSES = tuple(_STATUS_DELAYS)
# Contact method type -> the channel its notifications go through, as notify log entries name it.
NOTIFICATION_CHANNELS = {
    "email_contact_method": "email",
    "phone_contact_method": "phone",
    "sms_contact_method": "sms",
    "push_notification_contact_method": "push_notification",
}


class IncidentLifecycle(Catalog):
    """The incidents of an account."""

    def add_incident(
        self,
        title: str,
        *,
        service: Obj | str,
        status: str = "triggered",
        urgency: str = "high",
        created_at: datetime | None = None,
        assignees: Iterable[Obj | str] = (),
        incident_key: str | None = None,
        id: str | None = None,
    ) -> Obj:
        """Open an incident on `service`.

        Without `assignees` it is assigned through the service's escalation
        policy: its first rule's users, or each targeted schedule's first user in a layer that has not ended.
        Acknowledged incidents changed status 5 minutes after `created_at`,
        resolved ones an hour after (never later than `now`).
        """
        if status not in INCIDENT_STATUSES:
            raise ValueError(f"unknown incident status {status!r}")
        if urgency not in ("high", "low"):
            raise ValueError(f"an incident's urgency is high or low, not {urgency!r}")
        service = self._get(self.services, service)
        policy = self.escalation_policies[service["escalation_policy"]["id"]]
        number = len(self.incidents) + 1
        incident = self._new("incident", f"[#{number}] {title}", id)
        created = created_at or self.now
        opened = timestamp(created)
        users = [self._get(self.users, user) for user in assignees] or self._first_responders(policy)
        responders = [reference(user) for user in users]
        incident.update(
            incident_number=number,
            title=title,
            created_at=opened,
            updated_at=opened,
            status="triggered",
            incident_key=incident_key or secret("incident", incident["id"]),
            service=reference(service),
            assignments=[{"at": opened, "assignee": ref} for ref in responders],
            assigned_via="direct_assignment" if assignees else "escalation_policy",
            last_status_change_at=opened,
            last_status_change_by=reference(service),
            resolved_at=None,
            resolve_reason=None,
            alert_counts={"all": 1, "triggered": 1, "resolved": 0},
            is_mergeable=True,
            incident_type={"name": "incident_default"},
            escalation_policy=reference(policy),
            teams=list(service["teams"]),
            pending_actions=[],
            acknowledgements=[],
            priority=None,
            urgency=urgency,
            incidents_responders=[],
            responder_requests=[],
        )
        self.incidents[incident["id"]] = incident
        self.notes[incident["id"]] = []
        self.status_updates[incident["id"]] = []
        self.incident_log[incident["id"]] = []
        trigger = self._log(incident, "trigger", opened, reference(service), "Triggered through the API.")
        trigger["event_details"] = {"description": title}
        incident["first_trigger_log_entry"] = reference(trigger)
        if responders:
            self._log_assignment(incident, opened, reference(service), responders)
        latest = service["last_incident_timestamp"]
        if latest is None or latest < incident["created_at"]:
            service["last_incident_timestamp"] = incident["created_at"]
        if status != "triggered":
            changed = min(created + _STATUS_DELAYS[status], max(created, self.now))
            by = responders[0] if responders else reference(service)
            self.set_incident_status(incident, status, by=by, at=changed)
        return incident

    def set_incident_status(self, incident: Obj | str, status: str, *, by: Obj, at: datetime | None = None) -> Obj:
        """Acknowledge or resolve an incident on behalf of `by`, a user or service reference.

        Setting the status it already has changes nothing; a resolved incident
        stays resolved and nothing goes back to triggered.
        """
        incident = self._get(self.incidents, incident)
        if status == incident["status"]:
            return incident
        if status not in ("acknowledged", "resolved"):
            raise ValueError(f"an incident cannot be set back to {status!r}")
        if incident["status"] == "resolved":
            raise ValueError("Incident Already Resolved")
        changed = timestamp(at or self.now)
        incident.update(status=status, updated_at=changed, last_status_change_at=changed, last_status_change_by=by)
        if status == "acknowledged":
            incident["acknowledgements"].append({"at": changed, "acknowledger": by})
            entry = self._log(incident, "acknowledge", changed, by, f"Acknowledged by {by['summary']}.")
            entry["acknowledgement_timeout"] = self.services[incident["service"]["id"]]["acknowledgement_timeout"]
        else:
            incident.update(resolved_at=changed, assignments=[], acknowledgements=[], pending_actions=[])
            incident["alert_counts"] = {"all": 1, "triggered": 0, "resolved": 1}
            self._log(incident, "resolve", changed, by, f"Resolved by {by['summary']}.")
        return incident

    def reassign_incident(
        self,
        incident: Obj | str,
        *,
        by: Obj,
        users: Iterable[Obj | str] = (),
        escalation_policy: Obj | str | None = None,
    ) -> Obj:
        """Assign an open incident to `users`, or to whom `escalation_policy` notifies first."""
        incident = self._get(self.incidents, incident)
        if incident["status"] == "resolved":
            raise ValueError("Incident Already Resolved")
        chosen = [self._get(self.users, user) for user in users]
        assignees = chosen
        if escalation_policy is not None:
            policy = self._get(self.escalation_policies, escalation_policy)
            incident["escalation_policy"] = reference(policy)
            assignees = chosen or self._first_responders(policy)
        if not assignees:
            raise ValueError("An incident must be assigned to someone.")
        moment = timestamp(self.now)
        refs = [reference(user) for user in assignees]
        incident.update(
            assignments=[{"at": moment, "assignee": ref} for ref in refs],
            assigned_via="direct_assignment" if chosen else "escalation_policy",
            updated_at=moment,
        )
        self._log_assignment(incident, moment, by, refs)
        return incident

    def add_note(
        self,
        incident_id: str,
        content: str,
        *,
        user: Obj | str,
        created_at: datetime | None = None,
    ) -> Obj:
        """Add a note by `user` to an incident, as the web UI or API would."""
        incident = self._get(self.incidents, incident_id)
        moment = timestamp(created_at or self.now)
        author = reference(self._get(self.users, user))
        note = {
            "id": object_id("note", self._next("note")),
            "user": author,
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": moment,
            "updated_at": moment,
        }
        self.notes[incident["id"]].append(note)
        self._log(incident, "annotate", moment, author, "Note added.")
        return note

    def add_status_update(
        self,
        incident_id: str,
        message: str,
        *,
        user: Obj | str,
        subject: str | None = None,
        html_message: str | None = None,
    ) -> Obj:
        """Post a status update from `user` on an incident."""
        incident = self._get(self.incidents, incident_id)
        update = {
            "id": object_id("status_update", self._next("status_update")),
            "message": message,
            "created_at": timestamp(self.now),
            "sender": reference(self._get(self.users, user)),
        }
        if subject is not None:
            update["subject"] = subject
        if html_message is not None:
            update["html_message"] = html_message
        self.status_updates[incident["id"]].append(update)
        return update

    def _log(self, incident: Obj, kind: str, at: str, agent: Obj, summary: str) -> Obj:
        entry_id = object_id("log_entry", self._next("log_entry"))
        entry = {
            "id": entry_id,
            "type": f"{kind}_log_entry",
            "summary": summary,
            "self": f"{SANDBOX_BASE_URL}/log_entries/{entry_id}",
            "html_url": f"{incident['html_url']}/log_entries/{entry_id}",
            "created_at": at,
            "agent": agent,
            "channel": {"type": "api" if agent["type"] == "user_reference" else "auto"},
            "service": incident["service"],
            "incident": reference(incident),
            "teams": list(incident["teams"]),
            "contexts": [],
        }
        self.log_entries[entry_id] = entry
        self.incident_log[incident["id"]].append(entry)
        return entry

    def _log_assignment(self, incident: Obj, at: str, agent: Obj, assignees: list[Obj]) -> None:
        names = ", ".join(ref["summary"] for ref in assignees)
        self._log(incident, "assign", at, agent, f"Assigned to {names}.")["assignees"] = assignees
        for assignee in assignees:
            self._notify(incident, at, agent, self.users[assignee["id"]])

    def _notify(self, incident: Obj, at: str, agent: Obj, user: Obj) -> None:
        """Log the notifications `user`'s rules send about `incident`, assigned to them at `at`."""
        assigned = parse_time(at)
        for ref in user["notification_rules"]:
            rule = self.notification_rules[ref["id"]]
            sent = assigned + timedelta(minutes=rule["start_delay_in_minutes"])
            if rule["urgency"] != incident["urgency"] or (sent > assigned and sent > self.now):
                continue
            method = self.contact_methods[rule["contact_method"]["id"]]
            channel = NOTIFICATION_CHANNELS[method["type"]]
            moment = timestamp(sent)
            entry = self._log(incident, "notify", moment, agent, f"Notified {user['name']} by {channel}.")
            entry["user"] = reference(user)
            notification = {
                "id": object_id("notification", self._next("notification")),
                "type": f"{channel}_notification" if channel != "push_notification" else channel,
                "started_at": moment,
                "user": reference(user),
                "status": "success",
            }
            if channel != "push_notification":  # PagerDuty gives no address for pushes
                notification["address"] = method["address"]
            entry["channel"] = {"type": channel, "notification": notification}

    def _first_responders(self, policy: Obj) -> list[Obj]:
        """Return who `policy` notifies first: its first rule's users, or each schedule's first user in a layer
        that has not ended.
        """
        rules = policy["escalation_rules"]
        now = timestamp(self.now)
        users: list[Obj] = []
        for target in rules[0]["targets"] if rules else []:
            if target["type"] == "user_reference":
                users.append(self.users[target["id"]])
                continue
            layers = [layer for layer in self.schedules[target["id"]]["schedule_layers"] if layer.get("end", now) >= now]
            users += [self.users[entry["user"]["id"]] for layer in layers for entry in layer["users"]][:1]
        return users
