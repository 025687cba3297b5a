/** Says that `doing` (such as "Starting and stopping load tests") needs the admin role; `id` lets the controls point at it. */
export function RoleNote(props: { id: string; doing: string }) {
  return (
    <p class="role-note" id={props.id}>
      {props.doing} needs the <strong>admin</strong> role. Sign in with an admin token to use these controls.
    </p>
  );
}
